"""``verify_bundle``: a bundle's bytes against its manifests, then a smoke translation on LiteRT-LM."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

from tmz.bundle.errors import BundleError, EngineCheckError, IntegrityError
from tmz.bundle.integrity import check_integrity
from tmz.bundle.naming import sidecar_name
from tmz.bundle.reader import BundleInfo, inspect_bundle
from tmz.core.manifest import BundleManifest, load_manifest, sha256_file
from tmz.core.plugins import get_registry
from tmz.core.prompt import Side, instruction
from tmz.core.registry import Direction

SMOKE_TEXT = "Hello."
SMOKE_MAX_TOKENS = 32


def check_sidecar(info: BundleInfo, sidecar: Path) -> str:
    """The manifest beside the bundle must describe this very file and agree with the embedded one."""
    assert info.manifest is not None
    beside: BundleManifest = load_manifest(sidecar, expect_kind="bundle", verify=False)
    entry = next((f for f in beside.files if f.path == info.path.name), None)
    if entry is None:
        raise IntegrityError(
            f"{sidecar}: lists no file named {info.path.name!r}; it belongs to another bundle"
        )
    if entry.size != info.size:
        raise IntegrityError(
            f"{info.path}: has {info.size} bytes, {sidecar.name} says {entry.size}; it is truncated or replaced"
        )
    digest = sha256_file(info.path)
    if digest != entry.sha256:
        raise IntegrityError(
            f"{info.path}: sha256 {digest[:12]}... does not match {sidecar.name} ({entry.sha256[:12]}...); "
            "the file was altered, rebuild it or download it again"
        )
    if beside.model_dump(exclude={"files"}) != info.manifest.model_dump(exclude={"files"}):
        raise IntegrityError(
            f"{sidecar}: differs from the manifest embedded in {info.path.name}; rebuild the bundle"
        )
    return digest


def smoke_prompt(manifest: BundleManifest, text: str, direction: str | None = None) -> tuple[str | None, str]:
    """The tmz-v1 instruction for ``direction`` (default: the bundle's first; the bare text when it lists none)."""
    if direction is None and not manifest.directions:
        return None, text
    if direction is not None and direction not in manifest.directions:
        raise BundleError(
            f"direction {direction!r} is not one this bundle was trained for ({', '.join(manifest.directions) or 'none'})"
        )
    registry = get_registry()
    d = Direction.parse(direction or manifest.directions[0])
    src = Side(d.source, d.source_script, d.source if d.source in registry.dialects else None)
    tgt = Side(d.target, d.target_script, d.target if d.target in registry.dialects else None)
    return d.tag, instruction(registry, src, tgt, text)


def translate(
    path: Path,
    message: str,
    *,
    vision: bool,
    image: Path | None = None,
    max_output_tokens: int = SMOKE_MAX_TOKENS,
) -> str:
    """Greedy reply of LiteRT-LM (CPU) to one user message (after ``image`` when given); EngineCheckError
    when it cannot load or run.

    The engine gets a throwaway cache directory: LiteRT-LM would otherwise leave its XNNPACK cache
    beside the bundle, in the folder to publish.
    """
    import litert_lm

    kwargs: dict[str, Any] = (
        {"max_num_images": 1, "vision_backend": litert_lm.Backend.CPU()} if vision else {}
    )
    sampler = litert_lm.SamplerConfig(top_k=1, temperature=0.0, seed=0)
    try:
        with (
            tempfile.TemporaryDirectory(prefix="tmz-verify-") as cache,
            litert_lm.Engine(str(path), backend=litert_lm.Backend.CPU(), cache_dir=cache, **kwargs) as engine,
            engine.create_conversation(sampler_config=sampler, max_output_tokens=max_output_tokens) as conv,
        ):
            content = [{"type": "text", "text": message}]
            if image is not None:
                content.insert(0, {"type": "image", "path": str(Path(image).resolve())})
            reply = conv.send_message({"role": "user", "content": content})
    except RuntimeError as e:
        raise EngineCheckError(f"{path}: LiteRT-LM cannot load or run this bundle ({e})") from e
    return "".join(part.get("text", "") for part in reply.get("content", []) if part.get("type") == "text")


def verify_bundle(
    path: str | os.PathLike[str],
    *,
    smoke: bool = True,
    text: str = SMOKE_TEXT,
    direction: str | None = None,
    expect: str | None = None,
) -> dict[str, Any]:
    """Check a bundle: its layout and section hashes against the embedded manifest, its sha256 against the
    manifest beside it (when present: ``sidecar`` is None when not, and ``sha256`` was then compared with
    nothing), then a greedy smoke translation of ``text`` in ``direction`` (default: the bundle's first) in LiteRT-LM;
    ``expect`` is the exact output it must give.

    Raises CorruptBundleError / IntegrityError / EngineCheckError (BundleError for a bundle without a tmz
    manifest) naming the file and what differs.
    """
    info = inspect_bundle(path)
    report: dict[str, Any] = {"path": str(info.path), "format": info.format, "size": info.size}
    report["sections_checked"] = check_integrity(info)
    sidecar = info.path.with_name(sidecar_name(info.path.name))
    present = sidecar.is_file()
    report["sha256"] = check_sidecar(info, sidecar) if present else sha256_file(info.path)
    report["sidecar"] = str(sidecar) if present else None  # None: the file's sha256 was compared with nothing
    if smoke:
        tag, message = smoke_prompt(info.manifest, text, direction)
        vision = "image" in info.manifest.settings.modalities
        start = time.perf_counter()
        output = translate(info.path, message, vision=vision)
        report["smoke"] = {"direction": tag, "input": text, "output": output,
                           "seconds": round(time.perf_counter() - start, 3)}  # fmt: skip
        if expect is not None and output != expect:
            raise EngineCheckError(
                f"{info.path}: smoke translation of {text!r} gave {output!r}, expected {expect!r}"
            )
        if not output.strip():
            raise EngineCheckError(f"{info.path}: the smoke translation of {text!r} came back empty")
    return report
