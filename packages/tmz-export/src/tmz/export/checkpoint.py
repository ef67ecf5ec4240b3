"""The checkpoint to export: its config, its manifest (or one written for a plain Hugging Face directory), its
backend, and its lineage back to the dataset it was trained on."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tmz.core.errors import ManifestError, RegistryError
from tmz.core.kinds.base import ImageNormalisation
from tmz.core.kinds.model import ModelSettings
from tmz.core.manifest import (
    MANIFEST_NAME,
    DatasetManifest,
    ModelManifest,
    Producer,
    find_parent,
    list_files,
    load_manifest,
)
from tmz.core.plugins import get_registry
from tmz.core.registry import ModelBackend, Registry
from tmz.export.errors import ArchitectureError, CheckpointError, VocabularyError

TOKENIZER_FILE = "tokenizer.model"
#: How far up the parent chain (model -> adapter -> dataset) to look for the training data.
_MAX_LINEAGE = 8


@dataclass(frozen=True)
class Checkpoint:
    """A Hugging Face checkpoint directory with the backend it belongs to."""

    path: Path
    config: dict[str, Any]
    manifest: ModelManifest | None
    backend: ModelBackend

    @property
    def architecture(self) -> str:
        return _architecture(self.config, self.path)

    @property
    def text_config(self) -> dict[str, Any]:
        return self.config.get("text_config") or self.config

    @property
    def vocab_size(self) -> int:
        return int(self.text_config["vocab_size"])

    @property
    def tokenizer_file(self) -> Path:
        return self.path / TOKENIZER_FILE

    def dataset(self) -> Path | None:
        """The dataset directory this model was trained on, when its manifest's lineage still leads there (each
        parent found with :func:`~tmz.core.manifest.find_parent`, checked by hash)."""
        current, where = self.manifest, self.path
        for _ in range(_MAX_LINEAGE):
            if current is None or current.parent is None:
                return None
            try:
                where = find_parent(current, where)
                current = load_manifest(where, verify=False)
            except ManifestError:
                return None
            if isinstance(current, DatasetManifest):
                return where
        return None


def _architecture(config: dict[str, Any], path: Path) -> str:
    archs = config.get("architectures") or []
    if len(archs) != 1:
        raise ArchitectureError(
            f"{path / 'config.json'}: 'architectures' is {archs!r}; expected exactly one transformers class "
            "(e.g. Gemma3ForCausalLM); save the model with save_pretrained"
        )
    return archs[0]


def read_config(path: Path) -> dict[str, Any]:
    """The checkpoint's config.json; CheckpointError when the directory is not a checkpoint."""
    cfg = path / "config.json"
    if not cfg.is_file():
        raise CheckpointError(
            f"{path}: no config.json; point at a Hugging Face checkpoint directory (merged model)"
        )
    try:
        return json.loads(cfg.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise CheckpointError(f"{cfg}: not valid JSON ({e}); re-save the checkpoint") from e


def resolve_backend(registry: Registry, config: dict[str, Any], path: Path, name: str | None) -> ModelBackend:
    """The backend a checkpoint belongs to: the one named (manifest or option), checked against config.json.

    Where several backends share the architecture and vocabulary (Gemma 3 270M and 1B), config.json's shape
    selects one (:meth:`~tmz.core.registry.Registry.backend_for_architecture`). Raises ArchitectureError when the
    architecture matches no backend (or not the named one), when the shape matches no single backend or not the
    named one, and VocabularyError when the vocabulary size matches none of the backends of that architecture.
    """
    arch = _architecture(config, path)
    text = config.get("text_config") or config
    vocab = int(text.get("vocab_size", -1))
    cfg = path / "config.json"
    candidates = [b for b in registry.backends.values() if b.architecture == arch]
    if not candidates:
        known = sorted({b.architecture for b in registry.backends.values()})
        raise ArchitectureError(
            f"{cfg}: architecture {arch!r} matches no registered backend (known: {known}); "
            "install the plugin of that model family (see `tmz plugins`)"
        )
    sizes = ", ".join(f"{b.name}: {b.vocab_size}" for b in candidates)
    fix = "merge with vocabulary reconciliation (tmz train merge) or pick the right backend"
    if name is None:
        if all(b.vocab_size != vocab for b in candidates):
            raise VocabularyError(
                f"{cfg}: vocab_size is {vocab} but no backend of {arch} has it ({sizes}); {fix}"
            )
        try:
            return registry.backend_for_architecture(arch, vocab, text)
        except RegistryError as e:
            raise ArchitectureError(f"{cfg}: {e}") from None
    backend = registry.backend(name)
    if backend.architecture != arch:
        raise ArchitectureError(
            f"{path}: backend {name!r} expects architecture {backend.architecture!r} but config.json says {arch!r}"
        )
    if backend.vocab_size != vocab:
        raise VocabularyError(
            f"{cfg}: vocab_size is {vocab} but backend {backend.name!r} has {backend.vocab_size} "
            f"(backends of {arch}: {sizes}); {fix}"
        )
    if backend.shape and not backend.fits_shape(text):
        raise ArchitectureError(
            f"{cfg}: backend {name!r} has the shape {backend.shape} but config.json has "
            f"{ {k: text.get(k) for k in backend.shape} }; name the backend of this checkpoint's shape"
        )
    return backend


def open_checkpoint(path: str | Path, backend: str | None = None) -> Checkpoint:
    """Open a checkpoint directory, verifying its model manifest when it has one, and resolve its backend."""
    path = Path(path).resolve()
    if not path.is_dir():
        raise CheckpointError(f"{path}: not a directory; point at a merged checkpoint directory")
    config = read_config(path)
    manifest = None
    if (path / MANIFEST_NAME).is_file():
        manifest = load_manifest(path, expect_kind="model")
        if backend is not None and backend != manifest.backend:
            raise ArchitectureError(
                f"{path}: its manifest says backend {manifest.backend!r}, the option says {backend!r}; drop the option"
            )
        backend = manifest.backend
    registry = get_registry()
    return Checkpoint(path, config, manifest, resolve_backend(registry, config, path, backend))


def describe(ckpt: Checkpoint, normalisation: ImageNormalisation | None) -> Checkpoint:
    """A plain checkpoint (no manifest) with a model manifest, in memory, describing what the checks found (the
    image normalisation of a vision checkpoint); the checkpoint directory is never written to (the export records
    the description)."""
    if ckpt.manifest is not None:
        return ckpt
    manifest = ModelManifest(
        name=ckpt.path.name,
        producer=Producer.of("tmz-export"),
        backend=ckpt.backend.name,
        files=list_files(ckpt.path),
        settings=ModelSettings(
            described_by="tmz-export (the checkpoint had no manifest)", image_normalisation=normalisation
        ),
    )
    return Checkpoint(ckpt.path, ckpt.config, manifest, ckpt.backend)
