"""Dataset artifacts (tmz-data prepare, tmz-train memorise): settings and results.

The examples themselves, their columns and the reader and writer are in :mod:`tmz.core.dataset`.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, model_validator

from tmz.core.dataset import FIELDS
from tmz.core.kinds.base import Record
from tmz.core.kinds.license import spdx_id

if TYPE_CHECKING:
    from datasets import DatasetDict

Layout = Literal["auto", "long", "wide", "image"]


class PrepareOptions(Record):
    """How corpora become a dataset (``tmz data prepare``'s options; recorded in the dataset's settings)."""

    layout: Layout = Field(default="auto", description="table layout; auto decides from the columns")
    columns: dict[str, str] = Field(
        default_factory=dict, description="canonical field -> column name in the files, e.g. source_text=src"
    )
    transliterate: bool = Field(
        default=False, description="add the other-script twin of every Tamazight text (marked derived)"
    )
    directions: list[str] | None = Field(
        default=None, description="keep only these direction tags, e.g. en_Latn->zgh_Tfng"
    )
    min_chars: int = Field(default=1, description="shortest text kept, in characters")
    max_chars: int = Field(default=2000, description="longest text kept, in characters")
    max_tokens: int | None = Field(default=None, description="longest text kept, in tokens of tokenizer")
    tokenizer: str | None = Field(
        default=None, description="SentencePiece model (file, or a directory holding tokenizer.model)"
    )
    max_length_ratio: float = Field(
        default=3.0, description="reject pairs whose longer side is this many times the shorter (characters)"
    )
    ratio_min_chars: int = Field(
        default=20, description="the ratio is checked only from this many characters"
    )
    max_foreign_share: float = Field(
        default=0.25, description="share of letters of another script tolerated in a text (names, symbols)"
    )
    min_image_size: int = Field(default=32, description="smallest image side kept, in pixels")
    max_image_pixels: int = Field(
        default=40_000_000,
        description="largest image kept, in pixels (width x height, read from its header before decoding)",
    )
    validation_ratio: float = Field(
        default=0.1, description="share of meaning groups in the validation split"
    )
    test_ratio: float = Field(default=0.1, description="share of meaning groups in the test split")
    seed: int = Field(default=0, description="seed of the split")
    license: str | None = Field(
        default=None,
        description="SPDX id of the sources' license, e.g. CC-BY-SA-4.0 (default: read from a LICENSE file or "
        "a dataset card README.md beside each source)",
    )
    attribution: str | None = Field(
        default=None, description="whom the sources' license asks to credit (title, authors, link)"
    )

    @model_validator(mode="after")
    def _check(self) -> PrepareOptions:
        if self.license is not None:
            self.license = spdx_id(self.license, "license")
        unknown = sorted(set(self.columns) - set(FIELDS))
        if unknown:
            raise ValueError(f"column mapping names unknown field(s) {unknown}; map any of {list(FIELDS)}")
        for name in ("validation_ratio", "test_ratio", "max_foreign_share"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {getattr(self, name)}")
        if self.validation_ratio + self.test_ratio >= 1.0:
            raise ValueError("validation_ratio + test_ratio must leave room for a training split (< 1)")
        if self.min_chars < 1 or self.max_chars < self.min_chars:
            raise ValueError(f"need 1 <= min_chars <= max_chars, got {self.min_chars} and {self.max_chars}")
        if self.max_tokens is not None and self.tokenizer is None:
            raise ValueError("max_tokens needs a tokenizer (a SentencePiece model); pass tokenizer=...")
        if self.max_image_pixels < self.min_image_size**2:
            raise ValueError(
                f"max_image_pixels ({self.max_image_pixels}) must be at least min_image_size squared "
                f"({self.min_image_size**2})"
            )
        if self.max_length_ratio < 1.0:
            raise ValueError(f"max_length_ratio must be >= 1, got {self.max_length_ratio}")
        return self


class SourceFile(Record):
    """One file read, with its sha256."""

    path: str
    sha256: str
    language: str | None = Field(default=None, description="the language of a line-aligned text file")


class SourceDescription(Record):
    """One input of ``prepare``: a table file, or a directory of line-aligned text files."""

    files: list[SourceFile]
    layout: str
    rows: int


class DatasetSettings(PrepareOptions):
    """The options the dataset was prepared with, and what it was prepared from."""

    sources: list[SourceDescription] = Field(default_factory=list, description="what was read")
    memorised: bool = Field(
        default=False, description="written by tmz-train memorise (no corpus, no rejects)"
    )


class RowCounts(Record):
    """Input rows: read == accepted + rejected."""

    read: int
    accepted: int
    rejected: int
    rejected_by_reason: dict[str, int] = Field(default_factory=dict)


class SplitCounts(Record):
    """What one split holds."""

    examples: int
    groups: int
    by_direction: dict[str, int] = Field(default_factory=dict)


class ExampleCounts(Record):
    """The examples made from the accepted rows (every direction of each row, and twins)."""

    total: int
    derived: int = Field(description="transliterated twins")
    twins_skipped: int = 0
    pairs_dropped_by_reason: dict[str, int] = Field(default_factory=dict)
    by_split: dict[str, int]
    by_direction: dict[str, int]
    by_dialect: dict[str, int]
    by_script: dict[str, int] = Field(description="source and target scripts")
    by_domain: dict[str, int]


class DatasetResults(Record):
    """What preparing found: rows in, examples out, and each split."""

    rows: RowCounts
    examples: ExampleCounts
    splits: dict[str, SplitCounts]

    @classmethod
    def of(
        cls, splits: DatasetDict, rows: RowCounts, twins_skipped: int = 0,
        pairs_dropped_by_reason: dict[str, int] | None = None,
    ) -> DatasetResults:  # fmt: skip
        """Count what ``splits`` hold (by split, direction, dialect, script and domain)."""
        by: dict[str, Counter[str]] = {k: Counter() for k in ("direction", "dialect", "script", "domain")}
        per_split: dict[str, SplitCounts] = {}
        derived = 0
        for name, ds in splits.items():
            table = ds.data.table
            per_dir = _value_counts(table, "direction")
            per_split[name] = SplitCounts(
                examples=len(ds), groups=len(_value_counts(table, "group")), by_direction=per_dir
            )
            by["direction"].update(per_dir)
            by["dialect"].update(_value_counts(table, "dialect"))
            by["domain"].update(_value_counts(table, "domain"))
            by["script"].update(_value_counts(table, "source_script"))
            by["script"].update(_value_counts(table, "target_script"))
            derived += sum(1 for v in table.column("derived").to_pylist() if v)
        examples = ExampleCounts(
            total=sum(s.examples for s in per_split.values()), derived=derived, twins_skipped=twins_skipped,
            pairs_dropped_by_reason={k: v for k, v in sorted((pairs_dropped_by_reason or {}).items()) if v},
            by_split={k: v.examples for k, v in per_split.items()},
            **{f"by_{k}": dict(sorted(v.items())) for k, v in by.items()},
        )  # fmt: skip
        return cls(rows=rows, examples=examples, splits=per_split)


def _value_counts(table: Any, column: str) -> dict[str, int]:
    values = table.column(column).value_counts().to_pylist()
    return {c["values"]: c["counts"] for c in values if c["values"] is not None}
