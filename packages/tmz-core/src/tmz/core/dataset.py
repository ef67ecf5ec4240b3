"""The dataset artifact: its example type, its columns, its layout on disk, and the one reader and writer.

tmz-data writes datasets from corpora, tmz-train's memorise writes tiny ones; tmz-train, tmz-export (parity
prompts), tmz-runtime (bundle evaluation) and tmz-pipeline read them. All of them go through this module.

Layout (docs/contracts.md, "dataset")::

    hf/                 datasets.DatasetDict.save_to_disk: splits train, validation, test
    jsonl/{split}.jsonl the same rows as JSON lines (image parts carry no "text" key)
    images/             RGB PNG copies of image rows (when there are any)
    rejects.jsonl       one rejected input row per line

Writing ``hf/`` and reading it back need the ``datasets`` library (tmz-data and tmz-train have it); reading the
JSON lines needs nothing beyond tmz-core.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tmz.core.errors import DataError
from tmz.core.scoring import Modality

if TYPE_CHECKING:
    from datasets import DatasetDict, Features

SPLITS = ("train", "validation", "test")
HF_DIR, JSONL_DIR, IMAGES_DIR, REJECTS_FILE = "hf", "jsonl", "images", "rejects.jsonl"
#: Language and script of an image whose text is not known: its direction tag is ``und_Zyyy->zgh_Tfng``.
UNKNOWN_LANGUAGE, UNKNOWN_SCRIPT = "und", "Zyyy"
#: Canonical input columns of a corpus (tmz-data maps a file's own column names onto these).
FIELDS = (
    "source_language", "target_language", "source_text", "target_text", "dialect", "script", "domain", "id",
    "group", "image",
)  # fmt: skip
#: The example columns and their Arrow type (``messages`` is the chat conversation).
STRING_COLUMNS = (
    "id", "group", "direction", "source_language", "source_script", "target_language", "target_script", "dialect",
    "domain", "source_text", "target_text", "image",
)  # fmt: skip
COLUMNS = (*STRING_COLUMNS, "derived", "messages")


class Part(BaseModel):
    """One part of a turn's content: text, or the place of the image (``{"type": "image"}``)."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["text", "image"]
    text: str | None = None


class Turn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["user", "assistant"]
    content: list[Part]


class Example(BaseModel):
    """One training example: a translation request in one direction with its reference answer."""

    model_config = ConfigDict(extra="forbid")
    id: str = Field(description="<row id>|<direction>")
    group: str = Field(description="one meaning across directions and scripts (splits never share a group)")
    direction: str = Field(description="e.g. en_Latn->zgh_Tfng; und_Zyyy->... for an image of unknown text")
    source_language: str
    source_script: str
    target_language: str
    target_script: str
    dialect: str | None = Field(default=None, description="Tamazight variety")
    domain: str | None = None
    source_text: str | None = Field(default=None, description="None for an image without known text")
    target_text: str
    image: str | None = Field(default=None, description="path relative to the dataset directory")
    derived: bool = Field(default=False, description="a transliterated twin")
    messages: list[Turn] = Field(description="the tmz-v1 conversation (tmz.core.prompt.messages)")

    @property
    def modality(self) -> Modality:
        return "image" if self.image else "text"

    @property
    def source_known(self) -> bool:
        return self.source_language != UNKNOWN_LANGUAGE

    def record(self) -> dict[str, Any]:
        """The row as stored in ``hf/`` (image parts with ``text`` None: one Arrow struct type)."""
        return self.model_dump(mode="json")


def _line(row: dict[str, Any]) -> str:
    """A row as one JSON line of ``jsonl/`` (image parts without ``text``)."""
    for turn in row["messages"]:
        turn["content"] = [{k: v for k, v in part.items() if v is not None} for part in turn["content"]]
    return json.dumps(row, ensure_ascii=False)


def features() -> Features:
    """The Arrow features of the example columns (for ``datasets``)."""
    from datasets import Features, List, Value

    part = {"type": Value("string"), "text": Value("string")}
    return Features(
        {
            **{k: Value("string") for k in STRING_COLUMNS},
            "derived": Value("bool"),
            "messages": List({"role": Value("string"), "content": List(part)}),
        }
    )


def example(row: Mapping[str, Any], where: str) -> Example:
    """A row (a dict from ``hf/`` or ``jsonl/``) as an Example; DataError naming ``where`` when it is not one."""
    try:
        return Example.model_validate(dict(row))
    except ValidationError as e:
        first = e.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise DataError(f"{where}: not a dataset row: {field}: {first['msg']}; rebuild the dataset") from None


def split_path(dataset: str | Path, split: str) -> Path:
    return Path(dataset) / JSONL_DIR / f"{split}.jsonl"


def read_split(dataset: str | Path, split: str) -> list[Example]:
    """The examples of one split (from ``jsonl/``); DataError when the split is missing or a line is broken."""
    path = split_path(dataset, split)
    if not path.is_file():
        raise DataError(f"{path}: the dataset has no {split!r} split; use one of {list(SPLITS)}")
    out = []
    with path.open(encoding="utf-8") as f:
        for line_no, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise DataError(f"{path}:{line_no}: broken JSON line ({e}); rebuild the dataset") from None
            out.append(example(row, f"{path}:{line_no}"))
    return out


def load_splits(dataset: str | Path) -> DatasetDict:
    """The splits as a ``datasets.DatasetDict`` (from ``hf/``), for training."""
    from datasets import load_from_disk

    hf = Path(dataset) / HF_DIR
    if not hf.is_dir():
        raise DataError(f"{dataset}: no {HF_DIR}/ directory; is this a dataset written by tmz data prepare?")
    return load_from_disk(str(hf))


def _typed(split: Any) -> Any:
    """A split with exactly the example features (an empty one may have been built without columns)."""
    from datasets import Dataset

    if len(split) == 0:
        return Dataset.from_dict({k: [] for k in COLUMNS}, features=features())
    return split.select_columns(list(COLUMNS)).cast(features())


def write_dataset(tmp: str | Path, splits: DatasetDict, rejects: list[str] | None = None) -> DatasetDict:
    """Write ``splits`` (every split of SPLITS, possibly empty) as ``hf/`` and ``jsonl/`` under ``tmp`` (an
    artifact directory being written), with ``rejects.jsonl`` (``rejects``: its lines, when not already written).

    Returns the splits read back from ``hf/`` (memory-mapped, cheap to count).
    """
    from datasets import DatasetDict

    tmp = Path(tmp)
    missing = [s for s in SPLITS if s not in splits]
    if missing:
        raise DataError(f"a dataset needs the splits {list(SPLITS)}; {missing} missing (give empty ones)")
    splits = DatasetDict({s: _typed(splits[s]) for s in SPLITS})
    # an empty split saved with zero shards cannot be loaded back: give it one
    splits.save_to_disk(str(tmp / HF_DIR), num_shards={k: 1 for k, v in splits.items() if len(v) == 0})
    splits = DatasetDict.load_from_disk(str(tmp / HF_DIR))
    (tmp / JSONL_DIR).mkdir(exist_ok=True)
    for name, ds in splits.items():
        with open(split_path(tmp, name), "w", encoding="utf-8") as f:
            for batch in ds.iter(batch_size=10_000):
                names = list(batch)
                for values in zip(*batch.values(), strict=True):
                    f.write(_line(dict(zip(names, values, strict=True))) + "\n")
    if rejects is not None or not (tmp / REJECTS_FILE).exists():
        (tmp / REJECTS_FILE).write_text("".join(line + "\n" for line in rejects or []), encoding="utf-8")
    return splits
