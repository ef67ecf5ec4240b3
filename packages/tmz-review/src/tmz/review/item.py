"""A review item: one source text and the translation to judge, from the bundle's model or a phrasebook."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Literal

Origin = Literal["model", "phrasebook"]


@dataclass(frozen=True)
class Item:
    """One translation to review; ``id`` is set once it is stored."""

    origin: Origin
    direction: str  # en_Latn->zgh_Tfng
    source_language: str
    source_script: str
    target_language: str
    target_script: str
    source_text: str
    text: str  # the translation under review
    dialect: str | None = None
    variety: str = "none"  # the Tamazight variety: the dialect, else the Tamazight side's code
    domain: str | None = None
    reference: str | None = None  # the data's own target text, when it has one
    bundle_sha256: str | None = None  # the bundle that wrote ``text`` (None for a phrasebook entry)
    phrase_set: str | None = None
    phrase_id: str | None = None
    row_id: str | None = None  # the id of the row it came from in the data
    id: int | None = None

    @property
    def key(self) -> str:
        """What makes two items the same: a model's answer to one request, or one phrasebook text."""
        if self.origin == "model":
            parts = ("model", self.bundle_sha256 or "", self.direction, self.dialect or "", self.source_text)
        else:
            parts = ("phrasebook", self.phrase_set or "", self.phrase_id or "", self.direction, self.text)
        return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()
