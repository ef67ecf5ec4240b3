"""What a bundle file holds: its sections (zip entries of a ``.task``, sections of a ``.litertlm``) and
streaming helpers to hash them."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tmz.core.kinds.bundle import Content

_CHUNK = 1 << 20


@dataclass(frozen=True)
class Section:
    """One section of a bundle: its name, data type, byte range in the file and metadata items."""

    name: str
    type: str
    offset: int
    size: int
    items: dict[str, Any] = field(default_factory=dict)

    def read(self, path: Path) -> bytes:
        """The section's bytes (for small sections: metadata, manifests)."""
        with open(path, "rb") as f:
            f.seek(self.offset)
            return f.read(self.size)

    def sha256(self, path: Path) -> str:
        """sha256 of the section's bytes, read from ``path`` in chunks."""
        h = hashlib.sha256()
        with open(path, "rb") as f:
            f.seek(self.offset)
            left = self.size
            while left:
                chunk = f.read(min(_CHUNK, left))
                if not chunk:
                    break
                h.update(chunk)
                left -= len(chunk)
        return h.hexdigest()


def content_entry(name: str, data: bytes | Path) -> Content:
    """Name, sha256 and size of what a section will hold (a file's bytes, or bytes built in memory)."""
    h = hashlib.sha256()
    if isinstance(data, bytes):
        h.update(data)
        size = len(data)
    else:
        with open(data, "rb") as f:
            while chunk := f.read(_CHUNK):
                h.update(chunk)
        size = data.stat().st_size
    return Content(name=name, sha256=h.hexdigest(), size=size)
