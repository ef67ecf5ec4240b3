"""Typed artifact manifests: the only contract between tmz packages.

Every artifact directory holds a ``tmz-manifest.json`` that lists each file with its sha256 and size, the
producer, the hash of the parent manifest, the languages/directions it covers, the prompt format id and
the stage's settings and results, typed per kind (:mod:`tmz.core.kinds`). :func:`load_manifest` verifies all of
it; manifests of an older schema are migrated on reading (:mod:`tmz.core.migrations`).
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path, PurePosixPath
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

from tmz.core.atomic import MANIFEST_FILE, write_text_atomic
from tmz.core.errors import ManifestError
from tmz.core.kinds.adapter import AdapterResults, AdapterSettings
from tmz.core.kinds.bundle import BundleResults, BundleSettings
from tmz.core.kinds.dataset import DatasetResults, DatasetSettings
from tmz.core.kinds.export import ExportResults, ExportSettings
from tmz.core.kinds.license import LicenseTerm, announce
from tmz.core.kinds.model import ModelResults, ModelSettings
from tmz.core.migrations import migrate

SCHEMA_VERSION = 2
SUPPORTED_SCHEMA_VERSIONS = frozenset({1, 2})
MANIFEST_NAME = MANIFEST_FILE
Kind = Literal["dataset", "adapter", "model", "export", "bundle"]
COVERAGE = ("languages", "dialects", "scripts", "directions", "prompt_format", "licenses")
_CHUNK = 1 << 20


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


class Producer(BaseModel):
    """The distribution (and its version) that wrote an artifact."""

    model_config = ConfigDict(extra="forbid")
    distribution: str
    version: str

    @classmethod
    def of(cls, distribution: str) -> Producer:
        try:
            v = version(distribution)
        except PackageNotFoundError:
            v = "0.0.0"
        return cls(distribution=distribution, version=v)


class FileEntry(BaseModel):
    """One file of an artifact, relative to the manifest's directory."""

    model_config = ConfigDict(extra="forbid")
    path: str
    sha256: str
    size: int

    @field_validator("path")
    @classmethod
    def _inside(cls, value: str) -> str:
        parts = PurePosixPath(value).parts
        if not value or value.startswith("/") or "\\" in value or "\0" in value or ".." in parts:
            raise ValueError(
                f"file path {value!r} must be relative to the artifact's folder, without '..' (a manifest "
                "may not point outside its artifact); rebuild the artifact"
            )
        return value

    @classmethod
    def of(cls, root: Path, path: Path) -> FileEntry:
        return cls(path=path.relative_to(root).as_posix(), sha256=sha256_file(path), size=path.stat().st_size)


class ParentRef(BaseModel):
    """Where an artifact came from: the parent manifest's kind and sha256 (what identifies it), and where it was:
    relative to the child's directory when written by this release (absolute in schema 1)."""

    model_config = ConfigDict(extra="forbid")
    kind: Kind
    sha256: str
    path: str


class _ManifestBase(BaseModel):
    model_config = ConfigDict(extra="forbid")
    schema_version: int = SCHEMA_VERSION
    name: str
    created: datetime = Field(default_factory=lambda: datetime.now(UTC))
    producer: Producer
    parent: ParentRef | None = None
    files: list[FileEntry] = Field(default_factory=list)
    languages: list[str] = Field(default_factory=list)
    dialects: list[str] = Field(default_factory=list)
    scripts: list[str] = Field(default_factory=list)
    directions: list[str] = Field(default_factory=list)
    prompt_format: str | None = None
    licenses: list[LicenseTerm] = Field(
        default_factory=list,
        description="the license of each source the artifact derives from (tmz.core.kinds.license); inherited",
    )

    def coverage(self) -> dict[str, Any]:
        """What the artifact covers (languages, dialects, scripts, directions, prompt format) and the licenses
        of its sources, as keyword arguments for the manifest of a stage that derives from it unchanged; the
        ShareAlike and non-commercial terms it passes on are announced (stderr)."""
        self.inherited_licenses()
        return self.model_dump(include=set(COVERAGE))

    def inherited_licenses(self) -> list[LicenseTerm]:
        """The license terms an artifact made from this one inherits, binding terms announced on stderr."""
        announce(self.licenses, f"what is made from {self.kind} '{self.name}'")
        return list(self.licenses)

    def file(self, name: str) -> FileEntry:
        """The entry for a file of this artifact; ManifestError when it is not listed."""
        for entry in self.files:
            if entry.path == name:
                return entry
        raise ManifestError(f"{self.kind} manifest '{self.name}' lists no file named '{name}'")


class DatasetManifest(_ManifestBase):
    kind: Literal["dataset"] = "dataset"
    settings: DatasetSettings = Field(default_factory=DatasetSettings)
    results: DatasetResults


class AdapterManifest(_ManifestBase):
    kind: Literal["adapter"] = "adapter"
    backend: str
    settings: AdapterSettings
    results: AdapterResults


class ModelManifest(_ManifestBase):
    kind: Literal["model"] = "model"
    backend: str
    settings: ModelSettings = Field(default_factory=ModelSettings)
    results: ModelResults = Field(default_factory=ModelResults)


class ExportManifest(_ManifestBase):
    kind: Literal["export"] = "export"
    backend: str
    settings: ExportSettings
    results: ExportResults


class BundleManifest(_ManifestBase):
    kind: Literal["bundle"] = "bundle"
    backend: str
    format: Literal["task", "litertlm"]
    settings: BundleSettings
    results: BundleResults


Manifest = Annotated[
    DatasetManifest | AdapterManifest | ModelManifest | ExportManifest | BundleManifest,
    Field(discriminator="kind"),
]
_ADAPTER: TypeAdapter[Manifest] = TypeAdapter(Manifest)
M = TypeVar("M", bound=_ManifestBase)


def manifest_path(path: str | os.PathLike[str]) -> Path:
    """The manifest file for an artifact directory, or ``path`` itself when it is a file."""
    p = Path(path)
    return p / MANIFEST_NAME if p.is_dir() else p


def list_files(root: str | os.PathLike[str], exclude: tuple[str, ...] = (MANIFEST_NAME,)) -> list[FileEntry]:
    """Hash every file under ``root`` (sorted, manifest files excluded) into file entries."""
    root = Path(root)
    paths = sorted(p for p in root.rglob("*") if p.is_file() and p.name not in exclude)
    return [FileEntry.of(root, p) for p in paths]


def parent_ref(path: str | os.PathLike[str], child_dir: str | os.PathLike[str]) -> ParentRef:
    """A reference to an existing (verified) manifest, for the ``parent`` field of an artifact whose manifest
    will live in ``child_dir`` (its final directory; a bundle's folder): the location is kept relative to it."""
    mpath = manifest_path(path)
    parent = load_manifest(mpath)
    rel = os.path.relpath(mpath.resolve(), Path(child_dir).resolve())
    return ParentRef(kind=parent.kind, sha256=sha256_file(mpath), path=Path(rel).as_posix())


def find_parent(manifest: _ManifestBase, child_dir: str | os.PathLike[str]) -> Path:
    """The directory of ``manifest``'s parent artifact, found from ``child_dir`` (where the manifest lives) and
    checked by hash: ManifestError when it has moved or changed since the child was made."""
    ref, where = manifest.parent, child_dir
    if ref is None:
        raise ManifestError(f"{where}: the manifest names no parent; pass the parent artifact explicitly")
    base = Path(child_dir).resolve()
    mpath = Path(ref.path) if Path(ref.path).is_absolute() else base / ref.path
    if not mpath.is_file() or sha256_file(mpath) != ref.sha256:
        found = (
            "is not there" if not mpath.is_file() else "is another artifact now (its manifest hash differs)"
        )
        raise ManifestError(
            f"{where}: its parent {ref.kind} (manifest sha256 {ref.sha256[:12]}...) was at {mpath}, which {found}; "
            "pass the parent artifact explicitly"
        )
    return mpath.resolve().parent


def manifest_hash(path: str | os.PathLike[str]) -> str:
    """sha256 of a manifest file (the value a child's ``parent.sha256`` holds)."""
    return sha256_file(manifest_path(path))


def write_manifest(manifest: _ManifestBase, path: str | os.PathLike[str]) -> Path:
    """Write a manifest atomically into an artifact directory (or to an explicit ``.json`` path)."""
    p = Path(path)
    target = p if p.suffix == ".json" else p / MANIFEST_NAME
    return write_text_atomic(target, manifest.model_dump_json(indent=2) + "\n")


def load_manifest(
    path: str | os.PathLike[str], expect_kind: Kind | type[M] | None = None, verify: bool = True
) -> Any:
    """Read and check a manifest; ``path`` is an artifact directory or a manifest file.

    Raises :class:`ManifestError` naming the artifact when the manifest is missing or malformed, has an
    unknown schema version or the wrong kind, or (with ``verify``) a listed file is missing or altered.
    """
    mpath = manifest_path(path)
    if not mpath.is_file():
        raise ManifestError(f"{mpath}: no tmz manifest here; point at an artifact directory written by tmz")
    manifest = parse_manifest(mpath.read_bytes(), str(mpath), expect_kind)
    if verify:
        verify_files(manifest, mpath.parent, label=str(mpath))
    return manifest


def parse_manifest(text: str | bytes, where: str, expect_kind: Kind | type[M] | None = None) -> Any:
    """A manifest from its JSON text (a file's, or one embedded in a bundle), with every check but file hashes.

    ``where`` names the artifact in error messages.
    """
    try:
        raw = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ManifestError(f"{where}: malformed manifest JSON ({e}); rebuild the artifact") from e
    if not isinstance(raw, dict):
        raise ManifestError(f"{where}: a manifest must be a JSON object, found {type(raw).__name__}")
    sv = raw.get("schema_version")
    if sv not in SUPPORTED_SCHEMA_VERSIONS:
        raise ManifestError(
            f"{where}: unknown schema_version {sv!r} (this tmz-core reads {sorted(SUPPORTED_SCHEMA_VERSIONS)}); "
            "upgrade tmz-core or rebuild the artifact"
        )
    want = expect_kind if isinstance(expect_kind, str) or expect_kind is None else _kind_of(expect_kind)
    if want is not None and raw.get("kind") != want:
        raise ManifestError(f"{where}: expected a {want} artifact, found kind {raw.get('kind')!r}")
    try:
        return _ADAPTER.validate_python(migrate(raw))
    except ValidationError as e:
        raise ManifestError(f"{where}: invalid manifest: {e}") from e


def artifact_file(root: str | os.PathLike[str], entry: FileEntry, label: str) -> Path:
    """The file ``entry`` names inside the artifact directory ``root``; ManifestError when it leaves it (a path
    through a symbolic link to outside; absolute and ``..`` paths are refused when the manifest is read)."""
    f = Path(root) / entry.path
    real = f.resolve()
    if not real.is_relative_to(Path(root).resolve()):
        raise ManifestError(
            f"{label}: file '{entry.path}' leads outside the artifact (a symbolic link to {real}); an artifact "
            "holds its own files, rebuild it"
        )
    return f


def verify_files(manifest: _ManifestBase, root: Path, label: str) -> None:
    """Check that every listed file is inside ``root`` and exists with its recorded size and sha256."""
    for entry in manifest.files:
        f = artifact_file(root, entry, label)
        if not f.is_file():
            raise ManifestError(
                f"{label}: file '{entry.path}' is missing; the artifact is incomplete, rebuild it"
            )
        size = f.stat().st_size
        if size != entry.size:
            raise ManifestError(
                f"{label}: file '{entry.path}' has {size} bytes, manifest says {entry.size}; "
                "it was truncated or replaced, rebuild the artifact"
            )
        digest = sha256_file(f)
        if digest != entry.sha256:
            raise ManifestError(
                f"{label}: sha256 mismatch for '{entry.path}' (found {digest[:12]}..., expected "
                f"{entry.sha256[:12]}...); the file was altered, rebuild the artifact"
            )


def _kind_of(cls: type[_ManifestBase]) -> str:
    return cls.model_fields["kind"].default
