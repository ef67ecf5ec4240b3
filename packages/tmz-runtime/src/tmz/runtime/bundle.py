"""Opening a bundle: its embedded manifest, the checks the runtime makes on it, and its LiteRT-LM engine."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import litert_lm

from tmz.core.errors import RegistryError, TmzError
from tmz.core.manifest import BundleManifest, sha256_file
from tmz.core.prompt import check_prompt_format
from tmz.core.registry import ModelBackend, Registry
from tmz.runtime.errors import BundleLoadError, EngineError
from tmz.runtime.translation import ACTIVATIONS

BUNDLE_SUFFIXES = (".task", ".litertlm")


@dataclass
class Bundle:
    """A bundle file the runtime accepted: its manifest and model backend (the engine is made on demand)."""

    path: Path
    manifest: BundleManifest
    backend: ModelBackend

    @property
    def vision(self) -> bool:
        return self.backend.vision

    @cached_property
    def sha256(self) -> str:
        """sha256 of the bundle file (computed once, on first use)."""
        return sha256_file(self.path)

    @property
    def context_tokens(self) -> int:
        """The KV-cache length the bundle was exported with."""
        return self.manifest.settings.kv_cache_max_len


def open_bundle(path: str | os.PathLike[str], registry: Registry) -> Bundle:
    """Check a bundle path and read its embedded manifest.

    Raises BundleLoadError for a missing path, a folder, a file that is not a .task/.litertlm bundle or a
    backend no installed plugin registers; the core's RegistryError for an unknown prompt format.
    """
    p = Path(path)
    if not p.exists():
        raise BundleLoadError(
            f"{p}: no such bundle; pass the .task or .litertlm file `tmz bundle make` wrote"
        )
    if not p.is_file():
        raise BundleLoadError(f"{p}: is a folder, not a bundle; pass the .task or .litertlm file inside it")
    if p.suffix not in BUNDLE_SUFFIXES:
        raise BundleLoadError(f"{p}: not a bundle (expected a file ending in {' or '.join(BUNDLE_SUFFIXES)})")
    from tmz.bundle import read_embedded_manifest  # the bundle reader (litert-lm-builder, protobuf) on demand

    try:
        manifest = read_embedded_manifest(p)
    except TmzError:
        raise
    except Exception as e:  # a corrupt file can fail in the zip or flatbuffer reader
        raise BundleLoadError(
            f"{p}: cannot read the embedded manifest ({type(e).__name__}: {e}); rebuild it"
        ) from e
    check_prompt_format(manifest.prompt_format, str(p))
    try:
        backend = registry.backend(manifest.backend)
    except RegistryError as e:
        raise BundleLoadError(f"{p}: {e}; install the plugin that provides it") from None
    return Bundle(p.resolve(), manifest, backend)


def engine_cache_dir() -> Path:
    """Where LiteRT-LM may keep its engine caches: ``$TMZ_CACHE_DIR`` or the user cache (``~/.cache/tmz``)."""
    root = (
        os.environ.get("TMZ_CACHE_DIR")
        or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "tmz"
    )
    path = Path(root) / "litert-lm"
    path.mkdir(parents=True, exist_ok=True)
    return path


def create_engine(
    bundle: Bundle,
    *,
    max_num_tokens: int | None = None,
    threads: int | None = None,
    activation: str | None = None,
    benchmark: bool = False,
) -> litert_lm.Engine:
    """A LiteRT-LM engine on CPU for the bundle (with the vision backend when the bundle has one).

    ``activation`` picks the decoder's activation data type (one of :data:`ACTIVATIONS`); ``float32`` follows
    PyTorch's numerics most closely. LiteRT-LM's XNNPACK weight cache goes to :func:`engine_cache_dir`, never
    beside the bundle (bundle folders are published as they are).
    """
    litert_lm.set_min_log_severity(litert_lm.LogSeverity.ERROR)
    kwargs: dict = {"cache_dir": str(engine_cache_dir())}
    if activation is not None:
        if activation not in ACTIVATIONS:
            raise EngineError(f"activation {activation!r} is not one of {', '.join(ACTIVATIONS)}")
        kwargs["activation_data_type"] = litert_lm.engine.ActivationDataType[activation.upper()]
    if bundle.vision:
        kwargs.update(max_num_images=1, vision_backend=litert_lm.Backend.CPU())
    try:
        return litert_lm.Engine(
            str(bundle.path),
            backend=litert_lm.Backend.CPU(thread_count=threads),
            max_num_tokens=max_num_tokens or bundle.context_tokens,
            enable_benchmark=benchmark,
            **kwargs,
        )
    except RuntimeError as e:
        raise EngineError(
            f"{bundle.path}: LiteRT-LM cannot load this bundle ({e}); run `tmz bundle verify` on it"
        ) from e
