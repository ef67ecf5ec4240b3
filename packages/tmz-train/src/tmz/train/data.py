"""Reading a tmz-data dataset artifact (docs/contracts.md, "dataset") into training and evaluation rows."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from datasets import Dataset, DatasetDict

from tmz.core.dataset import Example, example, load_splits
from tmz.core.errors import DataError
from tmz.core.manifest import DatasetManifest, load_manifest
from tmz.core.prompt import check_prompt_format
from tmz.train.config import DataSettings

REQUIRED_COLUMNS = ("id", "direction", "target_language", "target_script", "dialect", "target_text", "image",
                    "messages")  # fmt: skip


@dataclass(frozen=True)
class LoadedDataset:
    """A dataset artifact: its directory, verified manifest and splits."""

    path: Path
    manifest: DatasetManifest
    splits: DatasetDict

    def split(self, name: str) -> Dataset:
        if name not in self.splits:
            raise DataError(f"{self.path}: dataset has no split {name!r} (has {sorted(self.splits)})")
        return self.splits[name]


def load_dataset_artifact(path: str | Path) -> LoadedDataset:
    """Load and verify a dataset directory written by ``tmz data prepare``."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: dataset directory not found; build one with `tmz data prepare`")
    manifest = load_manifest(path, expect_kind="dataset")
    check_prompt_format(manifest.prompt_format, str(path))
    splits = load_splits(path)
    if not isinstance(splits, DatasetDict):
        raise DataError(
            f"{path}: expected a DatasetDict with train/validation/test splits, found a single Dataset"
        )
    for name, split in splits.items():
        missing = [c for c in REQUIRED_COLUMNS if c not in split.column_names]
        if missing:
            raise DataError(
                f"{path} split {name!r}: missing columns {missing}; rebuild it with a current tmz-data"
            )
    return LoadedDataset(path, manifest, splits)


def as_examples(rows: Dataset, where: str) -> list[Example]:
    """The rows as typed examples (for scoring); DataError naming ``where`` and the row for a malformed one."""
    return [example(row, f"{where} row {i}") for i, row in enumerate(rows)]


def select_rows(split: Dataset, settings: DataSettings, vision: bool) -> Dataset:
    """Rows of the configured dialects/directions; image rows only for vision backends."""
    dialects, directions = set(settings.dialects), set(settings.directions)

    def keep(row: dict[str, Any]) -> bool:
        if row["image"] is not None and not vision:
            return False
        if dialects and row["dialect"] not in dialects:
            return False
        return not directions or row["direction"] in directions

    return split.filter(keep, desc="Selecting rows")


def text_examples(split: Dataset) -> Dataset:
    """TRL conversational prompt/completion rows: the user turn, then the assistant's answer."""
    return split.map(
        lambda row: {"prompt": row["messages"][:1], "completion": row["messages"][1:]},
        remove_columns=split.column_names,
        desc="Formatting conversations",
    )


def vision_examples(split: Dataset, root: Path) -> Dataset:
    """Rows for the vision collator: ``messages`` and the absolute image path (None for text rows)."""
    return split.map(
        lambda row: {
            "messages": row["messages"],
            "image": str(root / row["image"]) if row["image"] else None,
        },
        remove_columns=split.column_names,
        desc="Formatting conversations",
    )
