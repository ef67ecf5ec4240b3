"""``prepare``: corpora in, a leakage-free chat dataset out (see docs/contracts.md, section "dataset").

Two streaming passes keep memory bounded: the first reads, validates and expands every row into an Arrow
file of candidate examples while recording 64-bit text keys in compact arrays; then duplicates and groups
are resolved on those arrays, and the second pass writes the splits.
"""

from __future__ import annotations

import contextlib
import os
from array import array
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import datasets
import numpy as np
import pyarrow as pa
from datasets import Features, Value
from pydantic import ValidationError
from tqdm.auto import tqdm

from tmz.core.atomic import atomic_directory, scratch_directory
from tmz.core.dataset import (
    COLUMNS,
    REJECTS_FILE,
    SPLITS,
    UNKNOWN_LANGUAGE,
    UNKNOWN_SCRIPT,
    DatasetWriter,
    features,
)
from tmz.core.errors import ConfigError, DataError, RegistryError
from tmz.core.kinds.dataset import DatasetResults, DatasetSettings, RowCounts, SourceDescription, SourceFile
from tmz.core.manifest import DatasetManifest, Producer, list_files, sha256_file, write_manifest
from tmz.core.plugins import get_registry
from tmz.core.prompt import PROMPT_FORMAT_ID, Side, instruction
from tmz.core.registry import Direction, Registry
from tmz.data.images import ImageStore
from tmz.data.languages import Languages
from tmz.data.licenses import source_licenses
from tmz.data.options import PrepareOptions
from tmz.data.readers import AlignedSource, Record, aligned_files, read_aligned, read_table
from tmz.data.rejects import Reject, RejectLog, is_reject_log
from tmz.data.rows import Cell, Plan, RowParser, Unit, id_labels, make_plan
from tmz.data.splits import assign_splits, first_occurrence, groups, key64
from tmz.data.tokens import token_counter

Source = str | os.PathLike[str] | Mapping[str, str | os.PathLike[str]]
#: A candidate example of pass 1: the example columns but its group, with its unit and pair.
_CANDIDATE = Features(
    {
        **{k: v for k, v in features().items() if k != "group"},
        "_unit": Value("int64"),
        "_pair": Value("int64"),
    }
)
_CANDIDATE_SCHEMA = _CANDIDATE.arrow_schema
#: The columns of the rows written into the splits, in the dataset's order (``group`` from the units' groups).
_SPLIT_SCHEMA = features().arrow_schema
_CANDIDATE_STRINGS = tuple(k for k in _CANDIDATE if _CANDIDATE_SCHEMA.field(k).type == pa.string())
_BATCH = 10_000
_MARK = "\uffff"  # stands for the source text while an instruction's text around it is worked out


#: The columns an example takes from its direction (see _Target).
_TARGET_COLUMNS = (
    "direction",
    "source_language",
    "source_script",
    "target_language",
    "target_script",
    "dialect",
)


@dataclass(frozen=True)
class _Target:
    """A supported direction with what its examples share (the Tamazight variety); ``index`` in the run's list."""

    direction: Direction
    dialect: str | None
    index: int
    tag: str = field(init=False)

    @property
    def columns(self) -> tuple[str | None, ...]:
        """The values of _TARGET_COLUMNS."""
        d = self.direction
        return (self.tag, d.source, d.source_script, d.target, d.target_script, self.dialect)

    def __post_init__(self) -> None:
        object.__setattr__(self, "tag", self.direction.tag)


def _new_buffer() -> dict[str, list]:
    """Columns of candidate examples being gathered: ``prompt`` is the user turn's text (see _messages),
    ``_target`` the index of the example's direction (its _TARGET_COLUMNS)."""
    skip = {"messages", *_TARGET_COLUMNS}
    return {k: [] for k in (*_CANDIDATE, "prompt", "_target") if k not in skip}


def _messages(image: pa.Array, prompt: pa.Array, answer: pa.Array) -> pa.Array:
    """The ``messages`` column of ``tmz.core.prompt.messages`` (user turn, then the answer), built from the
    columns at once: an image row's user turn starts with an image part (text null)."""
    n = len(prompt)
    has_image = image.is_valid().to_numpy(zero_copy_only=False).astype(np.int32)
    lengths = np.ones(2 * n, dtype=np.int32)
    lengths[0::2] += has_image  # parts per turn: user (image? + text), assistant (text)
    offsets = np.zeros(2 * n + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    user = offsets[0:-1:2]
    texts = pa.concat_arrays([prompt, answer, pa.nulls(1, pa.string())])
    index = np.full(offsets[-1], 2 * n, dtype=np.int64)  # image parts: the null text
    index[user + has_image] = np.arange(n)
    index[offsets[1::2]] = np.arange(n, 2 * n)
    kind = np.zeros(offsets[-1], dtype=np.int8)
    kind[user[has_image == 1]] = 1
    turn_type = _CANDIDATE_SCHEMA.field("messages").type.value_type
    part_type = turn_type.field("content").type.value_type
    parts = pa.StructArray.from_arrays(
        [pa.array(["text", "image"]).take(pa.array(kind)), texts.take(pa.array(index))],
        fields=list(part_type),
    )
    content = pa.ListArray.from_arrays(pa.array(offsets), parts, type=turn_type.field("content").type)
    roles = pa.array(["user", "assistant"]).take(pa.array(np.tile(np.array([0, 1], np.int8), n)))
    turns = pa.StructArray.from_arrays([roles, content], fields=list(turn_type))
    return pa.ListArray.from_arrays(
        pa.array(np.arange(0, 2 * n + 1, 2, dtype=np.int32)),
        turns,
        type=_CANDIDATE_SCHEMA.field("messages").type,
    )


def prepare(
    sources: Source | Iterable[Source],
    out: str | os.PathLike[str],
    *,
    options: PrepareOptions | None = None,
    registry: Registry | None = None,
    progress: bool = True,
    overwrite: bool = False,
    **settings: Any,
) -> DatasetManifest:
    """Read, validate, normalise, expand, deduplicate and split corpora into a dataset directory at ``out``.

    ``sources``: table files (csv, tsv, json, jsonl, parquet), directories of line-aligned text files
    named by language tag (``seed_eng_Latn``), or mappings ``{"en_Latn": path, "zgh_Tfng": path}``.
    ``settings`` override fields of :class:`PrepareOptions` (e.g. ``transliterate=True``, ``seed=1``).
    Raises DataError for input that cannot be read at all; bad rows go to ``rejects.jsonl``. ``out`` replaces
    only an empty folder or a dataset tmz wrote, unless ``overwrite`` (and never an input): OutputError.
    """
    opts = _options(options or PrepareOptions(), settings)
    preparer = _Preparer(opts, registry or get_registry(), progress)
    return preparer.run(_sources(sources), Path(out), overwrite)


def _options(options: PrepareOptions, settings: Mapping[str, Any]) -> PrepareOptions:
    """``options`` with ``settings`` applied, checked again; ConfigError naming the setting when refused."""
    fields = list(PrepareOptions.model_fields)
    unknown = sorted(set(settings) - set(fields))
    if unknown:
        raise ConfigError(
            f"prepare: unknown setting(s) {unknown}; settings are the fields of PrepareOptions: {fields}"
        )
    try:
        return PrepareOptions.model_validate({**options.model_dump(), **settings})
    except ValidationError as e:
        first = e.errors()[0]
        where = f"{first['loc'][0]}: " if first["loc"] else ""
        got = f" (got {first['input']!r})" if first["loc"] else ""
        raise ConfigError(f"prepare: {where}{first['msg'].removeprefix('Value error, ')}{got}") from None


def _sources(sources: Source | Iterable[Source]) -> list[Path | AlignedSource]:
    if isinstance(sources, str | os.PathLike | Mapping):
        sources = [sources]
    out: list[Path | AlignedSource] = []
    for s in sources:
        if isinstance(s, Mapping):
            out.append(AlignedSource({str(k): Path(v) for k, v in s.items()}))
        else:
            out.append(Path(s))
    if not out:
        raise DataError("no sources given; pass at least one corpus file or directory")
    return out


class _Preparer:
    def __init__(self, options: PrepareOptions, registry: Registry, progress: bool) -> None:
        self.o = options
        self.registry = registry
        self.languages = Languages(registry)
        self.progress = progress
        self.count_tokens = token_counter(options.tokenizer) if options.tokenizer else None
        self.allowed = None
        if options.directions:
            self.allowed = {self._supported(t) for t in options.directions}
        # pass-1 state: compact arrays, never the rows themselves
        self.files: list[str] = []
        self.unit_file, self.unit_line, self.unit_row = array("I"), array("q"), array("q")
        self.unit_id = array("Q")  # key of each unit's row id: a second use of an id is rejected
        self.pair_unit, self.pair_raw, self.pair_norm, self.pair_derived = (
            array("q"),
            array("Q"),
            array("Q"),
            array("b"),
        )
        self.node_unit, self.node_key = array("q"), array("Q")
        self.rows_in = 0
        self.pairs_dropped: Counter[str] = Counter()
        self.buffer = _new_buffer()
        self._directions: dict[tuple[str, str, str, str], _Target | None] = {}
        self._targets: list[_Target] = []
        self._target_of: dict[tuple[Direction, str | None], _Target] = {}
        self._prompts: dict[tuple, tuple[str | None, str | None, tuple[Side | None, Side]]] = {}

    def _supported(self, tag: str) -> str:
        d = Direction.parse(tag)
        if not self.registry.supports(d):
            raise RegistryError(
                f"direction {tag} is not supported; `tmz plugins --json` lists the directions"
            )
        return d.tag

    # -- orchestration ----------------------------------------------------------------------------------
    def run(self, sources: list[Path | AlignedSource], out: Path, overwrite: bool) -> DatasetManifest:
        for s in sources:
            if isinstance(s, Path) and not s.exists():
                raise DataError(f"{s}: no such file or directory")
        inputs = [p for s in sources for p in (s.files.values() if isinstance(s, AlignedSource) else [s])]
        self.out, self.inputs = out, inputs
        sources = [
            aligned_files(s, self.languages.tag) if isinstance(s, Path) and s.is_dir() else s for s in sources
        ]
        labels = id_labels(
            [list(s.files.values())[-1] if isinstance(s, AlignedSource) else s for s in sources]
        )
        with (
            atomic_directory(out, "dataset", overwrite=overwrite, inputs=inputs) as tmp,
            scratch_directory(out) as work,
            _datasets_progress(self.progress),
        ):
            self.rejects = RejectLog(tmp / REJECTS_FILE)
            self.parser = RowParser(self.languages, self.o, ImageStore(tmp), self.count_tokens)
            candidates = Path(work) / "candidates.arrow"
            with (
                pa.OSFile(str(candidates), "wb") as sink,
                pa.ipc.new_stream(sink, _CANDIDATE_SCHEMA) as writer,
            ):
                described = [
                    self._read_source(s, label, writer) for s, label in zip(sources, labels, strict=True)
                ]
                self._flush(writer)
            try:
                results = self._resolve_and_write(candidates, tmp)
            finally:
                self.rejects.close()
            manifest = self._manifest(out, tmp, described, results)
            write_manifest(manifest, tmp)
        return manifest

    def _read_source(
        self, source: Path | AlignedSource, label: str, writer: pa.ipc.RecordBatchStreamWriter
    ) -> SourceDescription:
        if isinstance(source, AlignedSource):
            langs = [(tag, *self.languages.tag(tag)) for tag in source.files]
            plan = Plan("wide", {}, langs)
            records: Iterator[Record] = read_aligned(source)
            name = source.name
            files = [
                SourceFile(path=str(p), sha256=sha256_file(p), language=t) for t, p in source.files.items()
            ]
        else:
            columns, records = read_table(source)
            plan = make_plan(columns, str(source), self.o, self.languages, source.parent)
            name = str(source)
            files = [SourceFile(path=str(source), sha256=sha256_file(source))]
        plan.label = label
        file_index = len(self.files)
        self.files.append(name)
        before = self.rows_in
        bar = tqdm(desc=f"reading {Path(name).name}", unit=" rows", disable=not self.progress)
        parse, add, buffer = self.parser.parse, self._add_unit, self.buffer["id"]
        with bar:
            for record in records:
                self.rows_in += 1
                try:
                    add(parse(record, plan), record, file_index)
                except Reject as r:
                    self.rejects.add(record.file, record.line, record.row, r.code, r.reason)
                    continue
                if len(buffer) >= _BATCH:
                    self._flush(writer)
                    buffer = self.buffer["id"]
                    bar.update(self.rows_in - bar.n - before)
            bar.update(self.rows_in - bar.n - before)
        return SourceDescription(files=files, layout=plan.layout, rows=self.rows_in - before)

    # -- pass 1: one unit into pairs and candidate examples ------------------------------------------------
    def _add_unit(self, unit: Unit, record: Record, file_index: int) -> None:
        cells = unit.cells + (self.parser.twins(unit.cells) if self.o.transliterate else [])
        uid = len(self.unit_row)
        pairs, first_drop = [], None
        if unit.image is not None:
            src = unit.image_source
            for t in cells:
                d = self._image_direction(src, t)
                if d is None:
                    first_drop = first_drop or ("unsupported_direction", self._unsupported(src, t))
                    continue
                pairs.append((None, t, [d]))
        else:
            for i, a in enumerate(cells):
                for b in cells[i + 1 :]:
                    if a.language == b.language:
                        continue
                    dirs = [d for d in (self._direction(a, b), self._direction(b, a)) if d is not None]
                    if not dirs:
                        first_drop = first_drop or ("unsupported_direction", self._unsupported(a, b))
                        continue
                    try:
                        self._check_pair(a, b)
                    except Reject as r:
                        self.pairs_dropped[r.code] += 1
                        first_drop = first_drop or (r.code, r.reason)
                        continue
                    pairs.append((a, b, dirs))
        if not pairs:
            raise Reject(*(first_drop or ("empty", "no pair of texts in this row")))
        # accepted: record the unit, its pairs and its text keys
        self.unit_file.append(file_index)
        self.unit_line.append(record.line if record.line is not None else -1)
        self.unit_row.append(record.row)
        self.unit_id.append(key64("id", unit.row_id))
        for c in cells:
            self.node_unit.append(uid)
            self.node_key.append(self._node(c))
        if unit.image_sha:
            self.node_unit.append(uid)
            self.node_key.append(key64("image", unit.image_sha))
        if unit.group:
            self.node_unit.append(uid)
            self.node_key.append(key64("group", unit.group))
        for a, b, dirs in pairs:
            pid = len(self.pair_unit)
            derived = (a is not None and a.derived) or b.derived
            self.pair_unit.append(uid)
            self.pair_derived.append(derived)
            raw, norm = self._pair_keys(a, b, unit)
            self.pair_raw.append(raw)
            self.pair_norm.append(norm)
            for d in dirs:
                self._example(unit, d, uid, pid, derived)

    def _direction(self, a: Cell, b: Cell) -> _Target | None:
        """The direction from ``a`` to ``b`` when supported and selected (looked up once per languages)."""
        key = (a.language, a.script, b.language, b.script)
        if key not in self._directions:
            d = Direction(*key)
            ok = self.registry.supports(d) and (self.allowed is None or d.tag in self.allowed)
            self._directions[key] = (
                self._target(d, self._dialect_of(b.language) or self._dialect_of(a.language)) if ok else None
            )
        target = self._directions[key]
        return None if target is None else (a, b, target)

    def _image_direction(self, src: Cell | None, t: Cell) -> tuple[Cell | None, Cell, _Target] | None:
        if src is None:
            d = Direction(UNKNOWN_LANGUAGE, UNKNOWN_SCRIPT, t.language, t.script)
            ok = self.allowed is None or d.tag in self.allowed
            return (None, t, self._target(d, self._dialect_of(t.language))) if ok else None
        return self._direction(src, t)

    def _target(self, direction: Direction, dialect: str | None) -> _Target:
        """The run's one _Target of a direction and variety."""
        found = self._target_of.get((direction, dialect))
        if found is None:
            found = self._target_of[(direction, dialect)] = _Target(direction, dialect, len(self._targets))
            self._targets.append(found)
        return found

    def _unsupported(self, a: Cell | None, b: Cell) -> str:
        src = f"{a.language}_{a.script}" if a else UNKNOWN_LANGUAGE
        what = (
            "not selected (--direction)"
            if self.allowed is not None
            else "not supported by any registered pair"
        )
        return f"translation between {src} and {b.language}_{b.script} is {what}; see `tmz plugins`"

    def _check_pair(self, a: Cell, b: Cell) -> None:
        if a.text.casefold() == b.text.casefold():
            raise Reject("identical", f"{a.language} and {b.language} texts are identical ({a.text[:60]!r})")
        la, lb = len(a.text), len(b.text)
        longer, shorter = max(la, lb), min(la, lb)
        if longer >= self.o.ratio_min_chars and longer > self.o.max_length_ratio * shorter:
            raise Reject(
                "length_ratio",
                f"{a.language} text has {la} characters and {b.language} text {lb}: ratio {longer / shorter:.1f} "
                f"over max_length_ratio={self.o.max_length_ratio}",
            )

    def _node(self, c: Cell) -> int:
        """The key that joins rows holding this text: Tamazight texts of any variety and script meet in Latin."""
        dialect = self.registry.dialects.get(c.language)
        if dialect is None:
            return key64(c.language, c.text.casefold())
        text = c.text
        if (
            dialect.transliterator is not None
            and c.script != "Latn"
            and "Latn" in dialect.transliterator.scripts
        ):
            text = dialect.transliterator.transliterate(text, c.script, "Latn")
        return key64("tamazight", text.casefold())

    @staticmethod
    def _pair_keys(a: Cell | None, b: Cell, unit: Unit) -> tuple[int, int]:
        """The keys of a pair of texts as read and as normalised (one hash when normalising changed neither)."""

        def side(c: Cell, text: str) -> str:
            return f"{c.language}_{c.script}\x1e{text}"

        def key(first: str, second: str) -> int:
            return key64(*sorted((first, second)))

        if a is None:
            first = f"image\x1e{unit.image_sha}"
            norm = key(first, side(b, b.text))
            return (norm if b.raw == b.text else key(first, side(b, b.raw))), norm
        norm = key(side(a, a.text), side(b, b.text))
        if a.raw == a.text and b.raw == b.text:
            return norm, norm
        return key(side(a, a.raw), side(b, b.raw)), norm

    def _example(
        self, unit: Unit, d: tuple[Cell | None, Cell, _Target], uid: int, pid: int, derived: bool
    ) -> None:
        """Buffer one candidate example: its columns, with the user turn's text for ``messages`` (see _flush)."""
        src, tgt, target = d
        if unit.image is not None:
            src = unit.image_source
            source_text = (src.text or None) if src else None
            prompt = self._instruction(src, tgt, None)
        else:
            source_text = src.text
            prompt = self._instruction(src, tgt, source_text)
        b = self.buffer
        b["id"].append(f"{unit.row_id}|{target.tag}")
        b["_target"].append(target.index)
        b["domain"].append(unit.domain)
        b["source_text"].append(source_text)
        b["target_text"].append(tgt.text)
        b["image"].append(unit.image)
        b["derived"].append(derived)
        b["prompt"].append(prompt)
        b["_unit"].append(uid)
        b["_pair"].append(pid)

    def _instruction(self, src: Cell | None, tgt: Cell, text: str | None) -> str:
        """``tmz.core.prompt.instruction`` for these sides, its text around ``text`` worked out once per sides."""
        key = (None if src is None else (src.language, src.script), tgt.language, tgt.script, text is None)
        around = self._prompts.get(key)
        if around is None:
            sides = (
                None if src is None else Side(src.language, src.script, self._dialect_of(src.language)),
                Side(tgt.language, tgt.script, self._dialect_of(tgt.language)),
            )
            if text is None:
                around = (instruction(self.registry, *sides, None), None, sides)
            else:
                head, mark, tail = instruction(self.registry, *sides, _MARK).partition(_MARK)
                once = mark and _MARK not in head + tail
                around = (head, tail, sides) if once else (None, None, sides)
            self._prompts[key] = around
        head, tail, sides = around
        if text is None:
            return head
        return instruction(self.registry, *sides, text) if head is None else f"{head}{text}{tail}"

    def _dialect_of(self, code: str) -> str | None:
        return code if code in self.registry.dialects else None

    def _flush(self, writer: pa.ipc.RecordBatchStreamWriter) -> None:
        b = self.buffer
        if not b["id"]:
            return
        columns = {k: pa.array(b[k], pa.string()) for k in _CANDIDATE_STRINGS if k in b}
        which = pa.array(b["_target"], pa.int32())
        for k, values in zip(
            _TARGET_COLUMNS, zip(*(t.columns for t in self._targets), strict=True), strict=True
        ):
            columns[k] = pa.array(values, pa.string()).take(which)
        columns["derived"] = pa.array(b["derived"], pa.bool_())
        columns["messages"] = _messages(
            columns["image"], pa.array(b["prompt"], pa.string()), columns["target_text"]
        )
        columns["_unit"] = pa.array(b["_unit"], pa.int64())
        columns["_pair"] = pa.array(b["_pair"], pa.int64())
        writer.write_batch(pa.RecordBatch.from_pydict(columns, schema=_CANDIDATE_SCHEMA))
        self.buffer = _new_buffer()

    # -- between the passes: duplicates, groups, splits; pass 2: write ---------------------------------------
    def _resolve_and_write(self, candidates: Path, tmp: Path) -> DatasetResults:
        n_units = len(self.unit_row)
        pair_unit = np.frombuffer(self.pair_unit, dtype=np.int64)
        id_rep = first_occurrence(np.frombuffer(self.unit_id, dtype=np.uint64))
        dup_id = id_rep != np.arange(n_units)  # rejected: their pairs rank last, never another's original
        rank = np.frombuffer(self.pair_derived, dtype=np.int8) + 2 * dup_id[pair_unit].astype(np.int8)
        rep_norm = first_occurrence(np.frombuffer(self.pair_norm, dtype=np.uint64), rank)
        rep_raw = first_occurrence(np.frombuffer(self.pair_raw, dtype=np.uint64), rank)
        dup = rep_norm != np.arange(len(rep_norm))
        kept_per_unit = np.bincount(pair_unit[~dup], minlength=n_units)
        unit_kept = (kept_per_unit > 0) & ~dup_id
        exact = dup & (rep_raw != np.arange(len(rep_raw)))
        partial = dup & unit_kept[pair_unit]
        self.pairs_dropped["duplicate"] += int((partial & exact).sum())
        self.pairs_dropped["duplicate_normalised"] += int((partial & ~exact).sum())
        for u in np.flatnonzero(dup_id):
            where = f"{self.files[self.unit_file[id_rep[u]]]}:{self._line(int(id_rep[u]))}"
            self.rejects.add(self.files[self.unit_file[u]], self._line_or_none(u), self.unit_row[u], "duplicate_id",
                             f"its id is already the id of {where}; give every row its own id")  # fmt: skip
        for u in np.flatnonzero(~unit_kept & ~dup_id):
            p = int(np.searchsorted(pair_unit, u))  # pairs are appended unit by unit: the unit's first pair
            first = int(pair_unit[rep_norm[p]])
            where = f"{self.files[self.unit_file[first]]}:{self._line(first)}"
            code = "duplicate" if exact[p] else "duplicate_normalised"
            what = "duplicate of" if exact[p] else "duplicate (after normalisation) of"
            self.rejects.add(
                self.files[self.unit_file[u]],
                self._line_or_none(u),
                self.unit_row[u],
                code,
                f"{what} {where}",
            )

        rejected = sum(self.rejects.counts.values())
        accepted = int(unit_kept.sum())
        if accepted + rejected != self.rows_in:  # the accounting the manifest promises
            raise AssertionError(f"rows read {self.rows_in} != accepted {accepted} + rejected {rejected}")
        if accepted == 0:
            raise DataError(
                f"{self.out}: no row was accepted ({self.rows_in} read, 0 accepted, {rejected} rejected: "
                f"{dict(self.rejects.counts.most_common(5))}), so no dataset was written; {self._keep_rejects()}. "
                "Fix those rows (or the --direction and column options) and run again"
            )

        node_unit = np.frombuffer(self.node_unit, dtype=np.int64)
        node_key = np.frombuffer(self.node_key, dtype=np.uint64)
        keep_nodes = unit_kept[node_unit] if n_units else np.zeros(0, dtype=bool)
        group_of_unit = groups(node_unit[keep_nodes], node_key[keep_nodes], n_units)
        split_of_unit = assign_splits(group_of_unit, self.o.validation_ratio, self.o.test_ratio, self.o.seed)

        # pass 2: stream the candidates batch by batch (read, not memory-mapped) into the splits
        group_names = _hex16(group_of_unit)
        with DatasetWriter(tmp) as splits, pa.OSFile(str(candidates), "rb") as source:
            for batch in tqdm(
                pa.ipc.open_stream(source), desc="writing", unit=" batches", disable=not self.progress
            ):
                ex_unit = batch.column("_unit").to_numpy()
                keep = ~dup[batch.column("_pair").to_numpy()] & unit_kept[ex_unit]
                ex_split = split_of_unit[ex_unit]
                columns = {k: batch.column(k) for k in COLUMNS if k != "group"}
                columns["group"] = pa.array(group_names[ex_unit]).cast(pa.string())
                table = pa.RecordBatch.from_pydict(columns, schema=_SPLIT_SCHEMA)
                for i, name in enumerate(SPLITS):
                    rows = np.flatnonzero(keep & (ex_split == i))
                    if len(rows):
                        splits.write(name, table.take(pa.array(rows)))
        candidates.unlink()
        dd = splits.finish()  # rejects.jsonl is the RejectLog's, already there: left alone
        rows = RowCounts(
            read=self.rows_in, accepted=accepted, rejected=rejected,
            rejected_by_reason=dict(sorted(self.rejects.counts.items())),
        )  # fmt: skip
        return DatasetResults.of(
            dd,
            rows,
            twins_skipped=self.parser.twins_skipped,
            pairs_dropped_by_reason=dict(self.pairs_dropped),
        )

    def _keep_rejects(self) -> str:
        """Move the rejects of a run that writes no dataset beside its ``out``; says where they are."""
        self.rejects.close()
        kept = self.out.with_name(f"{self.out.name}.{REJECTS_FILE}")
        if os.path.lexists(kept) and (
            not is_reject_log(kept) or any(kept.resolve() == Path(p).resolve() for p in self.inputs)
        ):
            return f"the rejected rows were not kept: {kept} holds something else, which tmz leaves alone"
        try:
            os.replace(self.rejects.path, kept)
        except OSError as e:
            return f"the rejected rows could not be kept at {kept} ({e})"
        return f"every rejected row and its reason is in {kept}"

    def _line(self, u: int) -> int | str:
        line = self.unit_line[u]
        return line if line >= 0 else f"row {self.unit_row[u]}"

    def _line_or_none(self, u: int) -> int | None:
        return self.unit_line[u] if self.unit_line[u] >= 0 else None

    def _manifest(
        self, out: Path, tmp: Path, described: list[SourceDescription], results: DatasetResults
    ) -> DatasetManifest:
        ex = results.examples
        langs: set[str] = set()
        for tag in ex.by_direction:
            d = Direction.parse(tag)
            langs.update({d.source, d.target})
        langs.discard(UNKNOWN_LANGUAGE)
        return DatasetManifest(
            name=out.name,
            producer=Producer.of("tmz-data"),
            files=list_files(tmp),
            languages=sorted(langs),
            dialects=sorted(ex.by_dialect),
            scripts=sorted(s for s in ex.by_script if s != UNKNOWN_SCRIPT),
            directions=sorted(ex.by_direction),
            prompt_format=PROMPT_FORMAT_ID,
            licenses=source_licenses(described, self.o),
            settings=DatasetSettings(**self.o.model_dump(), sources=described),
            results=results,
        )


def _hex16(keys: np.ndarray) -> np.ndarray:
    """Each uint64 key as 16 lowercase hex digits (``f"{key:016x}"``), as a bytes array, without a Python loop."""
    digits = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
    nibbles = (
        keys.astype(">u8").view(np.uint8).reshape(-1, 8)[:, :, None] >> np.array([4, 0], np.uint8)
    ) & 15
    return digits[nibbles.reshape(-1, 16)].view("S16").ravel()


@contextlib.contextmanager
def _datasets_progress(enabled: bool) -> Iterator[None]:
    """Show or hide the progress bars of `datasets` for the duration of a run."""
    was_enabled = datasets.is_progress_bar_enabled()
    (datasets.enable_progress_bars if enabled else datasets.disable_progress_bars)()
    try:
        yield
    finally:
        (datasets.enable_progress_bars if was_enabled else datasets.disable_progress_bars)()
