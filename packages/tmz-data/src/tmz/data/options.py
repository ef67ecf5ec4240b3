"""Settings of `prepare`, kept apart from the code that acts on them (they are recorded in the manifest)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from tmz.core.errors import ConfigError

Layout = Literal["auto", "long", "wide", "image"]
#: Canonical column names; ``PrepareOptions.columns`` maps them to the names a file uses.
FIELDS = (
    "source_language",
    "target_language",
    "source_text",
    "target_text",
    "dialect",
    "script",
    "domain",
    "id",
    "group",
    "image",
)
#: Names accepted without a mapping (the seed guide's image columns among them).
ALIASES = {
    "image_path": "image",
    "image_source_language": "source_language",
    "image_text": "source_text",
    "text_in_image": "source_text",
}


@dataclass
class PrepareOptions:
    """How corpora become a dataset; every field is recorded in the manifest's ``settings``."""

    layout: Layout = "auto"
    columns: dict[str, str] = field(default_factory=dict)  # canonical field -> column name in the files
    transliterate: bool = False  # add the other-script twin of each Tamazight text, marked derived
    directions: list[str] | None = None  # keep only these direction tags (e.g. en_Latn->zgh_Tfng)
    min_chars: int = 1
    max_chars: int = 2000
    max_tokens: int | None = None
    tokenizer: str | None = None  # SentencePiece model (file, or a directory holding tokenizer.model)
    max_length_ratio: float = 3.0  # longer / shorter side, in characters
    ratio_min_chars: int = 20  # the ratio is checked only when the longer side has this many characters
    max_foreign_share: float = 0.25  # share of letters of other scripts tolerated (names, symbols)
    min_image_size: int = 32  # pixels, both sides
    validation_ratio: float = 0.1
    test_ratio: float = 0.1
    seed: int = 0

    def __post_init__(self) -> None:
        unknown = sorted(set(self.columns) - set(FIELDS))
        if unknown:
            raise ConfigError(f"column mapping names unknown field(s) {unknown}; map any of {list(FIELDS)}")
        if self.layout not in ("auto", "long", "wide", "image"):
            raise ConfigError(f"layout {self.layout!r} is unknown; use auto, long, wide or image")
        for name in ("validation_ratio", "test_ratio", "max_foreign_share"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ConfigError(f"{name} must be in [0, 1), got {getattr(self, name)}")
        if self.validation_ratio + self.test_ratio >= 1.0:
            raise ConfigError("validation_ratio + test_ratio must leave room for a training split (< 1)")
        if self.min_chars < 1 or self.max_chars < self.min_chars:
            raise ConfigError(f"need 1 <= min_chars <= max_chars, got {self.min_chars} and {self.max_chars}")
        if self.max_tokens is not None and self.tokenizer is None:
            raise ConfigError("max_tokens needs a tokenizer (a SentencePiece model); pass tokenizer=...")
        if self.max_length_ratio < 1.0:
            raise ConfigError(f"max_length_ratio must be >= 1, got {self.max_length_ratio}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_mapping(pairs: tuple[str, ...] | list[str]) -> dict[str, str]:
    """``["source_text=src", ...]`` (or one comma-separated string) as a column mapping."""
    out: dict[str, str] = {}
    for item in pairs:
        for part in item.split(","):
            if not part.strip():
                continue
            key, sep, value = part.partition("=")
            if not sep or not key.strip() or not value.strip():
                raise ConfigError(
                    f"column mapping {part!r} must look like field=column (e.g. source_text=src)"
                )
            out[key.strip()] = value.strip()
    return out
