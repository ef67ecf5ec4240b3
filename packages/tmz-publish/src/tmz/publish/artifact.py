"""An artifact to describe or publish: its manifest, its files, and the manifests of its lineage.

An artifact is a directory holding ``tmz-manifest.json`` (dataset, adapter, model, export) or a bundle file
(``.task``, ``.litertlm``) with ``<file>.tmz-manifest.json`` beside it. Its card is ``README.md`` in the directory,
or ``<file>.README.md`` beside a bundle (uploaded as ``README.md``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tmz.core.errors import ManifestError
from tmz.core.kinds.license import LicenseTerm, unique
from tmz.core.manifest import MANIFEST_NAME, find_parent, load_manifest
from tmz.publish.errors import PublishError

CARD_NAME = "README.md"


@dataclass(frozen=True)
class Link:
    """One manifest of the lineage and the directory it was found in."""

    manifest: Any
    where: Path


@dataclass(frozen=True)
class Artifact:
    """A verified artifact, its lineage (itself first, then its parent, ... back to the dataset), and where the
    lineage ends early (a parent moved or changed since: its reason), if it does."""

    path: Path
    manifest: Any
    root: Path
    lineage: list[Link]
    broken: str | None = None

    @property
    def kind(self) -> str:
        return self.manifest.kind

    @property
    def bundle(self) -> bool:
        return self.manifest.kind == "bundle"

    @property
    def manifest_file(self) -> Path:
        return (
            self.path.with_name(f"{self.path.name}.{MANIFEST_NAME}")
            if self.bundle
            else self.path / MANIFEST_NAME
        )

    def files(self) -> list[Path]:
        """The artifact's files as its manifest lists them (the bundle file itself, for a bundle)."""
        return [self.root / f.path for f in self.manifest.files]

    def card_path(self) -> Path:
        """Where the artifact's card lives: ``README.md`` inside it, or ``<file>.README.md`` beside a bundle."""
        if self.bundle:
            return self.path.with_name(f"{self.path.name}.{CARD_NAME}")
        if any(f.path == CARD_NAME for f in self.manifest.files):
            raise PublishError(
                f"{self.path / CARD_NAME} is one of the artifact's own files (the placeholder card peft wrote, kept "
                "by tmz-train before it wrote cards); write the card elsewhere (tmz card --out FILE), or fine-tune "
                "again to publish it"
            )
        return self.path / CARD_NAME

    def find(self, kind: str) -> Any | None:
        """The nearest manifest of ``kind`` in the lineage (the artifact's own first), or None."""
        return next((link.manifest for link in self.lineage if link.manifest.kind == kind), None)

    def where(self, kind: str) -> Path | None:
        """The directory of the nearest artifact of ``kind`` in the lineage, or None."""
        return next((link.where for link in self.lineage if link.manifest.kind == kind), None)

    def licenses(self) -> list[LicenseTerm]:
        """Every license term the lineage carries (the artifact's own and each ancestor's), without repeats."""
        return unique(t for link in self.lineage for t in link.manifest.licenses)


def open_artifact(path: str | Path) -> Artifact:
    """The artifact at ``path`` (a directory, a bundle file, or a manifest file), verified, with its lineage.

    Raises PublishError naming the path when there is no tmz artifact there; the core's ManifestError when its
    files do not match its manifest.
    """
    p = Path(path)
    if p.is_file() and p.name.endswith(f".{MANIFEST_NAME}"):
        p = p.with_name(p.name.removesuffix(f".{MANIFEST_NAME}"))
    elif p.is_file() and p.name == MANIFEST_NAME:
        p = p.parent
    if p.is_dir():
        mfile, root = p / MANIFEST_NAME, p
    else:
        mfile, root = p.with_name(f"{p.name}.{MANIFEST_NAME}"), p.parent
    if not mfile.is_file():
        raise PublishError(
            f"{path}: no tmz artifact here (no {mfile.name}); point at an artifact directory (data, adapter, model, "
            "export) or a bundle file (.task, .litertlm) with its manifest beside it"
        )
    manifest = load_manifest(mfile)
    lineage, broken = [Link(manifest, root)], None
    current, where = manifest, root
    while current.parent is not None:
        try:
            where = find_parent(current, where)
        except ManifestError as e:
            broken = str(e)
            break
        current = load_manifest(where, verify=False)
        lineage.append(Link(current, where))
    return Artifact(p, manifest, root, lineage, broken)
