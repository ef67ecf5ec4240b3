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
    if split.column_names == list(COLUMNS) and split.features == features():
        return split  # already typed: a cast would copy every row once more
    return split.select_columns(list(COLUMNS)).cast(features())


def write_dataset(tmp: str | Path, splits: DatasetDict, rejects: list[str] | None = None) -> DatasetDict:
    """Write ``splits`` (every split of SPLITS, possibly empty) as ``hf/`` and ``jsonl/`` under ``tmp`` (an
    artifact directory being written), with ``rejects.jsonl`` (``rejects``: its lines, when not already written).

    Returns the splits read back from ``hf/`` (memory-mapped, cheap to count).
    """
    missing = [s for s in SPLITS if s not in splits]
    if missing:
        raise DataError(f"a dataset needs the splits {list(SPLITS)}; {missing} missing (give empty ones)")
    with DatasetWriter(tmp) as writer:
        for name in SPLITS:
            for table in _typed(splits[name]).with_format("arrow").iter(batch_size=10_000):
                writer.write(name, table)
    return writer.finish(rejects)


class DatasetWriter:
    """Streams batches of example rows (Arrow, the example columns) into ``hf/`` and ``jsonl/`` under ``tmp``,
    split by split, without holding or memory-mapping a split: what ``datasets.DatasetDict.save_to_disk`` writes
    (shards of at most ``datasets.config.MAX_SHARD_SIZE``), and each row as one JSON line.

    Use as a context manager, then call :meth:`finish`.
    """

    def __init__(self, tmp: str | Path) -> None:
        import datasets

        self.tmp = Path(tmp)
        self.schema = features().arrow_schema
        self._max_shard = datasets.config.MAX_SHARD_SIZE
        if isinstance(self._max_shard, str):
            self._max_shard = datasets.utils.py_utils.convert_file_size_to_int(self._max_shard)
        self._shards: dict[str, list[Path]] = {s: [] for s in SPLITS}
        self._writer: dict[str, Any] = {}  # split -> its open ArrowWriter
        self._bytes: dict[str, int] = {}  # split -> bytes in its open shard
        (self.tmp / JSONL_DIR).mkdir(parents=True, exist_ok=True)
        self._lines = {s: open(split_path(self.tmp, s), "wb") for s in SPLITS}  # noqa: SIM115 (closed by close)

    def __enter__(self) -> DatasetWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def write(self, split: str, rows: Any) -> None:
        """Append ``rows`` (a pyarrow Table or RecordBatch with the example columns) to ``split``."""
        import pyarrow as pa
        from datasets.arrow_writer import ArrowWriter

        table = rows if isinstance(rows, pa.Table) else pa.Table.from_batches([rows])
        table = table.select(list(COLUMNS)).cast(self.schema)
        if not len(table):
            return
        writer = self._writer.get(split)
        if writer is not None and self._bytes[split] + table.nbytes > self._max_shard:
            writer.finalize()
            writer = None
        if writer is None:
            path = self.tmp / HF_DIR / split / f"shard-{len(self._shards[split]):05d}.arrow"
            path.parent.mkdir(parents=True, exist_ok=True)
            self._shards[split].append(path)
            writer = self._writer[split] = ArrowWriter(features=features(), path=str(path))
            self._bytes[split] = 0
        writer.write_table(table)
        self._bytes[split] += table.nbytes
        for batch in table.to_batches():
            self._lines[split].write(_json_lines(batch))

    def close(self) -> None:
        for writer in self._writer.values():
            writer.finalize()
        self._writer.clear()
        for f in self._lines.values():
            f.close()

    def finish(self, rejects: list[str] | None = None) -> DatasetDict:
        """Write the splits' metadata (and ``rejects.jsonl``, see :func:`write_dataset`); the splits read back."""
        from dataclasses import asdict

        from datasets import DatasetDict, DatasetInfo
        from datasets.arrow_writer import ArrowWriter
        from datasets.fingerprint import generate_random_fingerprint

        self.close()
        hf = self.tmp / HF_DIR
        info = asdict(DatasetInfo(features=features()))
        for split, shards in self._shards.items():
            if not shards:  # an empty split still gets one (empty) shard, or it cannot be loaded back
                shards.append(hf / split / "shard-00000.arrow")
                shards[0].parent.mkdir(parents=True, exist_ok=True)
                ArrowWriter(features=features(), path=str(shards[0])).finalize()
            names = [f"data-{i:05d}-of-{len(shards):05d}.arrow" for i in range(len(shards))]
            for shard, name in zip(shards, names, strict=True):
                shard.replace(shard.with_name(name))
            state = {
                "_data_files": [{"filename": n} for n in names],
                "_fingerprint": generate_random_fingerprint(),
                "_format_columns": None,
                "_format_kwargs": {},
                "_format_type": None,
                "_output_all_columns": False,
                "_split": None,
            }
            (hf / split / "state.json").write_text(
                json.dumps(state, indent=2, sort_keys=True), encoding="utf-8"
            )
            (hf / split / "dataset_info.json").write_text(
                json.dumps({k: info[k] for k in sorted(info)}, indent=2), encoding="utf-8"
            )
        (hf / "dataset_dict.json").write_text(json.dumps({"splits": list(SPLITS)}), encoding="utf-8")
        if rejects is not None or not (self.tmp / REJECTS_FILE).exists():
            (self.tmp / REJECTS_FILE).write_text(
                "".join(line + "\n" for line in rejects or []), encoding="utf-8"
            )
        return DatasetDict.load_from_disk(str(hf))


def _json_lines(batch: Any) -> bytes | memoryview:
    """The rows of ``batch`` as JSON lines (UTF-8), exactly as :func:`_line` writes them, built column by column."""
    import pyarrow.compute as pc

    messages = batch.column("messages")
    turns = messages.values
    role, content = turns.flatten()
    kind, text = content.values.flatten()
    if (
        messages.null_count
        or turns.null_count
        or content.null_count
        or content.values.null_count
        or kind.null_count
    ):
        return "".join(_line(row) + "\n" for row in batch.to_pylist()).encode("utf-8")  # rows no writer makes
    text_part = _Template(', "text": ').string(text, keep_null=True).join()
    parts = _Template('{"type": ').string(kind).add(pc.fill_null(text_part, ""), "}").join()
    turn = _Template('{"role": ').string(role).add(', "content": ').list(content, parts).add("}").join()
    line = _Template()
    for i, name in enumerate(COLUMNS):
        line.add(("{" if i == 0 else ", ") + json.dumps(name) + ": ")
        column = batch.column(name)
        if name == "messages":
            line.list(messages, turn)
        elif name == "derived":
            line.add(pc.fill_null(pc.if_else(column, "true", "false"), "null"))
        else:
            line.string(column)
    lines = line.add("}\n").join()
    if not len(lines):
        return b""
    _, offsets, data = lines.buffers()
    offsets = memoryview(offsets).cast("i")[lines.offset : lines.offset + len(lines) + 1]
    return memoryview(data)[offsets[0] : offsets[-1]]


class _Template:
    """Pieces of JSON text, literal or one per row (Arrow string arrays), joined row by row at once."""

    def __init__(self, *pieces: Any) -> None:
        self.pieces: list[Any] = []
        self.add(*pieces)

    def add(self, *pieces: Any) -> _Template:
        for p in pieces:
            if isinstance(p, str) and self.pieces and isinstance(self.pieces[-1], str):
                self.pieces[-1] += p
            else:
                self.pieces.append(p)
        return self

    def string(self, a: Any, keep_null: bool = False) -> _Template:
        """A JSON string per row (``null`` for null, or a null line when ``keep_null``)."""
        import pyarrow.compute as pc

        a = _escaped(a)
        if not a.null_count or keep_null:
            return self.add('"', a, '"')  # a null row makes the whole line null
        return self.add(pc.fill_null(_Template('"', a, '"').join(), "null"))

    def list(self, lists: Any, items: Any) -> _Template:
        """A JSON array per row: the ``items`` (JSON texts of ``lists``' values) of each list."""
        import pyarrow as pa
        import pyarrow.compute as pc

        return self.add("[", pc.binary_join(pa.ListArray.from_arrays(lists.offsets, items), ", "), "]")

    def join(self) -> Any:
        import pyarrow.compute as pc

        return pc.binary_join_element_wise(*self.pieces, "")


def _escaped(a: Any) -> Any:
    """The strings of ``a`` escaped as ``json.dumps`` (ensure_ascii=False) escapes them, without the quotes."""
    import numpy as np
    import pyarrow.compute as pc

    data = np.frombuffer(a.buffers()[2] or b"", dtype=np.uint8)
    present = set(np.unique(data[(data < 0x20) | (data == 0x22) | (data == 0x5C)]).tolist())
    for c, escaped in (("\\", "\\\\"), ('"', '\\"'), *_CONTROL_ESCAPES.items()):
        if ord(c) in present:  # only what is there is escaped (prompts hold a newline)
            a = pc.replace_substring(a, c, escaped)
    return a


#: How ``json.dumps`` writes control characters inside strings.
_CONTROL_ESCAPES = {
    chr(c): {8: "\\b", 9: "\\t", 10: "\\n", 12: "\\f", 13: "\\r"}.get(c, f"\\u{c:04x}") for c in range(32)
}
