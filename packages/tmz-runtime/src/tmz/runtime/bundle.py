"""Opening a bundle: its embedded manifest, the checks the runtime makes on it, and its LiteRT-LM engine."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from dataclasses import dataclass
from functools import cached_property
from importlib.metadata import version as dist_version
from pathlib import Path

import litert_lm

from tmz.core.atomic import write_text_atomic
from tmz.core.errors import RegistryError, TmzError
from tmz.core.manifest import BundleManifest, sha256_file
from tmz.core.prompt import check_prompt_format
from tmz.core.registry import ModelBackend, Registry
from tmz.runtime.errors import BundleLoadError, EngineError
from tmz.runtime.translation import ACTIVATIONS

BUNDLE_SUFFIXES = (".task", ".litertlm")


def cache_root() -> Path:
    """tmz's cache: ``$TMZ_CACHE_DIR``, else ``$XDG_CACHE_HOME/tmz`` (``~/.cache/tmz`` by default)."""
    return Path(
        os.environ.get("TMZ_CACHE_DIR")
        or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "tmz"
    )


def file_state(path: Path) -> dict[str, int | str]:
    """What identifies one version of a file without reading it: path, size, mtime, ctime, inode and device.

    The ctime changes with every write and every mtime reset, and no user can set it back.
    """
    st = path.stat()
    return {"path": str(path), "size": st.st_size, "mtime_ns": st.st_mtime_ns, "ctime_ns": st.st_ctime_ns,
            "inode": st.st_ino, "device": st.st_dev, "checker": dist_version("tmz-bundle")}  # fmt: skip


def _verified_record(path: Path) -> Path:
    return cache_root() / "verified" / f"{hashlib.sha256(str(path).encode()).hexdigest()[:32]}.json"


def check_integrity(path: Path) -> None:
    """Check a bundle against its embedded manifest (layout and every section's sha256, streamed), once per
    version of the file: a passing check is remembered in the cache by :func:`file_state`.

    Raises BundleLoadError naming the file and what differs.
    """
    state = file_state(path)
    record = _verified_record(path)
    with contextlib.suppress(OSError, ValueError):
        if json.loads(record.read_text(encoding="utf-8")) == state:
            return
    from tmz.bundle import check_integrity as check_bundle

    try:
        check_bundle(path)
    except TmzError as e:
        raise BundleLoadError(f"{e} (`tmz bundle verify {path}` tells more)") from e
    with contextlib.suppress(OSError):  # a read-only cache only costs a check next time
        record.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(record, json.dumps(state))


@dataclass
class Bundle:
    """A bundle file the runtime accepted: its manifest and model backend (the engine is made on demand)."""

    path: Path
    manifest: BundleManifest
    backend: ModelBackend
    state: dict[str, int | str]  # the file as it was checked (file_state)

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
    """Check a bundle path, read its embedded manifest and check the file against it (:func:`check_integrity`).

    Raises BundleLoadError for a missing path, a folder, a file that is not a .task/.litertlm bundle, one
    altered or damaged since it was made, or a backend no installed plugin registers; the core's RegistryError
    for an unknown prompt format.
    """
    p = Path(path)
    if not p.exists():
        raise BundleLoadError(
            f"{p}: no such bundle; pass the .task or .litertlm file `tmz bundle make` wrote"
        )
    if p.is_dir():
        raise BundleLoadError(f"{p}: is a folder, not a bundle; pass the .task or .litertlm file inside it")
    if not p.is_file():
        raise BundleLoadError(
            f"{p}: not a regular file; pass the .task or .litertlm file `tmz bundle make` wrote"
        )
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
    p = p.resolve()
    check_integrity(p)
    check_prompt_format(manifest.prompt_format, str(p))
    try:
        backend = registry.backend(manifest.backend)
    except RegistryError as e:
        raise BundleLoadError(f"{p}: {e}; install the plugin that provides it") from None
    return Bundle(p, manifest, backend, file_state(p))


def engine_cache_dir() -> Path:
    """Where LiteRT-LM may keep its engine caches: ``litert-lm`` in :func:`cache_root`."""
    path = cache_root() / "litert-lm"
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

    ``activation`` picks the decoder's activation data type (one of :data:`ACTIVATIONS`; on CPUs without
    native float16 all three score alike, see the runtime README). LiteRT-LM's XNNPACK weight cache goes to :func:`engine_cache_dir`, never
    beside the bundle (bundle folders are published as they are). A bundle file changed since it was opened is
    checked again first.
    """
    if file_state(bundle.path) != bundle.state:
        check_integrity(bundle.path)
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
