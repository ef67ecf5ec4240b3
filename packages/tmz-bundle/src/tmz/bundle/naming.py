"""Bundle file names in the litert-community style: ``gemma3-1b-text-tmz_q8_ekv1024.task``."""

from __future__ import annotations

import re

from tmz.bundle.errors import BundleError

FORMATS = ("task", "litertlm")
_QUANT_TAGS = (
    ("int4", "q4"),
    ("wi4", "q4"),
    ("int8", "q8"),
    ("wi8", "q8"),
    ("fp16", "f16"),
    ("float16", "f16"),
)
_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]*$")


def quantization_tag(quantization: str | None) -> str:
    """``q8``/``q4``/``f16``/``f32`` for an export's quantization setting (litert-torch recipe or short name)."""
    q = (quantization or "none").lower()
    for needle, tag in _QUANT_TAGS:
        if needle in q:
            return tag
    if q in ("none", "fp32", "float32", "f32"):
        return "f32"
    raise BundleError(
        f"quantization {quantization!r}: no file-name tag for it; expected int8, int4, fp16 or none"
    )


def bundle_filename(
    backend: str, quantization: str | None, kv_cache_max_len: int, fmt: str, name: str = "tmz"
) -> str:
    """``{backend}-{name}_{q}_ekv{kv}.{fmt}``, e.g. ``gemma3-1b-text-tmz_q8_ekv1024.task``."""
    if fmt not in FORMATS:
        raise BundleError(f"bundle format {fmt!r}: expected one of {', '.join(FORMATS)}")
    if not _NAME.match(name):
        raise BundleError(f"bundle name {name!r}: use lower-case letters, digits, '.' and '-' only")
    return f"{backend}-{name}_{quantization_tag(quantization)}_ekv{int(kv_cache_max_len)}.{fmt}"


def sidecar_name(bundle_name: str) -> str:
    """The manifest written beside a bundle: ``<file>.tmz-manifest.json``."""
    return f"{bundle_name}.tmz-manifest.json"
