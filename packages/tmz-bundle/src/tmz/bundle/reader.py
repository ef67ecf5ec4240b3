"""Reading a bundle without loading its model: format, sections, LLM metadata and the embedded manifest."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from google.protobuf.json_format import MessageToDict

from tmz.bundle import litertlmfile, taskfile
from tmz.bundle.errors import BundleError, CorruptBundleError
from tmz.bundle.llm_params import LlmParameters
from tmz.bundle.sections import Section
from tmz.core.manifest import BundleManifest, parse_manifest

_MAGIC = {b"LITERTLM": "litertlm", b"PK\x03\x04": "task"}


@dataclass
class BundleInfo:
    """What ``tmz bundle inspect`` shows about a bundle file."""

    path: Path
    format: str
    size: int
    sections: list[Section]
    llm: dict[str, Any] | None
    manifest: BundleManifest | None
    system_metadata: dict[str, Any] = field(default_factory=dict)
    container_version: str | None = None
    header_end: int | None = None  # .litertlm: where its header ends

    def section(self, name: str) -> Section | None:
        return next((s for s in self.sections if s.name == name), None)

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "format": self.format,
            "size": self.size,
            "container_version": self.container_version,
            "system_metadata": {
                k: v for k, v in self.system_metadata.items() if k != litertlmfile.MANIFEST_KEY
            },
            "sections": [vars(s) for s in self.sections],
            "llm": self.llm,
            "manifest": self.manifest.model_dump(mode="json") if self.manifest else None,
        }


def detect_format(path: Path) -> str:
    """``task`` or ``litertlm`` from the file's first bytes; it must agree with the file's suffix."""
    if not path.is_file():
        raise BundleError(f"{path}: no such bundle file")
    with open(path, "rb") as f:
        head = f.read(8)
    fmt = _MAGIC.get(head) or _MAGIC.get(head[:4])
    if fmt is None:
        raise CorruptBundleError(f"{path}: neither a .task (zip) nor a .litertlm file (starts with {head!r})")
    if path.suffix in (".task", ".litertlm") and path.suffix != f".{fmt}":
        raise CorruptBundleError(f"{path}: holds a .{fmt} bundle but is named {path.suffix}; rename it")
    return fmt


def inspect_bundle(path: str | os.PathLike[str]) -> BundleInfo:
    """Sections, sizes, LLM metadata and the embedded manifest (None for bundles made by other tools)."""
    p = Path(path)
    fmt = detect_format(p)
    if fmt == "task":
        sections = taskfile.read_task(p)
        names = {s.name: s for s in sections}
        llm = manifest = None
        if taskfile.METADATA in names:
            llm = _proto_dict(LlmParameters, taskfile.read_entry(p, taskfile.METADATA), p)
        if taskfile.MANIFEST in names:
            text = taskfile.read_entry(p, taskfile.MANIFEST)
            manifest = parse_manifest(text, f"{p} (embedded manifest)", "bundle")
        return BundleInfo(p, fmt, p.stat().st_size, sections, llm, manifest)
    header = litertlmfile.read_litertlm(p)
    llm = None
    for s in header.sections:
        if s.type == litertlmfile.LLM_METADATA:
            llm = _proto_dict(litertlmfile.llm_metadata_pb2.LlmMetadata, s.read(p), p)
    text = header.system_metadata.get(litertlmfile.MANIFEST_KEY)
    manifest = parse_manifest(text, f"{p} (embedded manifest)", "bundle") if text else None
    return BundleInfo(
        p,
        fmt,
        p.stat().st_size,
        header.sections,
        llm,
        manifest,
        header.system_metadata,
        header.version,
        header.header_end,
    )


def read_embedded_manifest(path: str | os.PathLike[str]) -> BundleManifest:
    """The BundleManifest a tmz bundle carries inside itself; BundleError for a bundle made by another tool."""
    info = inspect_bundle(path)
    if info.manifest is None:
        raise BundleError(f"{path}: holds no tmz manifest; it was not made by `tmz bundle make`")
    return info.manifest


def _proto_dict(cls: Any, data: bytes, path: Path) -> dict[str, Any]:
    try:
        return MessageToDict(cls.FromString(data), preserving_proto_field_name=True)
    except Exception as e:  # protobuf's DecodeError and friends
        raise CorruptBundleError(
            f"{path}: the LLM metadata cannot be parsed ({e}); the file is damaged"
        ) from e
