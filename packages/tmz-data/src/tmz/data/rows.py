"""From a record to validated texts ("cells") of one meaning: long, wide and image layouts.

Every check raises :class:`Reject` with a reason naming the field; nothing is dropped silently.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from tmz.core.dataset import FIELDS
from tmz.core.errors import DataError, RegistryError
from tmz.core.text import char_script, dominant_script, script_counts
from tmz.data.images import ImageStore, corpus_image, load_rgb
from tmz.data.languages import Languages
from tmz.data.options import ALIASES, PrepareOptions
from tmz.data.readers import Record, invalid_utf8
from tmz.data.rejects import Reject

LONG_REQUIRED = ("source_language", "target_language", "source_text", "target_text")
IMAGE_REQUIRED = ("image", "target_language", "target_text")
META = ("id", "group", "domain", "dialect", "script")


@dataclass
class Cell:
    """One text of a meaning: language (a dialect code for Tamazight), script, normalised text."""

    language: str
    script: str
    text: str
    raw: str
    derived: bool = False


@dataclass
class Unit:
    """The validated content of one record."""

    cells: list[Cell]
    row_id: str
    domain: str | None = None
    group: str | None = None
    image: str | None = None  # dataset-relative PNG path (image rows)
    image_sha: str | None = None
    image_source: Cell | None = None  # language/script (and text, when known) of the text in the image
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Plan:
    """How to read the records of one file: layout and where each field is."""

    layout: str
    columns: dict[str, str]  # canonical field -> column name
    language_columns: list[tuple[str, str, str | None]] = field(
        default_factory=list
    )  # wide: (column, code, script)
    base: Path = Path(".")
    label: str = ""  # the file's name in the ids of rows without one (see id_labels)
    fallbacks: dict[str, tuple[str, ...]] = field(
        default_factory=dict
    )  # field -> names read where it is empty


def id_labels(paths: list[Path]) -> list[str]:
    """What names each source in the ids of its rows without an id: its file name, or as many of its last path
    parts as tell it from the other sources (``a/x.csv``, ``b/x.csv``); a source given twice gets ``#2``."""
    parts = [Path(p).resolve().parts for p in paths]
    short = {p: p[-1:] for p in parts}  # distinct paths: the same file twice stays one
    while clash := {s for s in short.values() if list(short.values()).count(s) > 1}:
        short = {p: p[-len(s) - 1 :] if s in clash else s for p, s in short.items()}
    labels, seen = [], Counter[tuple[str, ...]]()
    for p in parts:
        seen[p] += 1
        name = PurePosixPath(*short[p]).as_posix()
        labels.append(name if seen[p] == 1 else f"{name}#{seen[p]}")
    return labels


def make_plan(
    columns: list[str], file: str, options: PrepareOptions, languages: Languages, base: Path
) -> Plan:
    """Decide a file's layout from its columns; DataError names what is missing and how to map it."""
    present = set(columns)
    mapped: dict[str, str] = {}
    for name in FIELDS:
        if name in options.columns:
            if options.columns[name] not in present:
                raise DataError(
                    f"{file}: the mapping {name}={options.columns[name]} names a column that is not there; "
                    f"columns found: {columns}"
                )
            mapped[name] = options.columns[name]
        elif name in present:
            mapped[name] = name
    for alias, name in ALIASES.items():
        if alias in present and name not in mapped:
            mapped[name] = alias
    # JSON rows carry their own keys (the plan is made from the first one's): a field unmapped by the user is read
    # under its other accepted names where a row lacks it, e.g. `image` in some rows and `image_path` in others.
    fallbacks: dict[str, tuple[str, ...]] = {}
    for name in set(ALIASES.values()) & set(mapped) - set(options.columns):
        names = (name, *(a for a, n in ALIASES.items() if n == name))
        fallbacks[name] = tuple(n for n in names if n != mapped[name])
    layout = options.layout
    if layout == "auto":
        if "image" in mapped:
            layout = "image"
        elif {"source_text", "target_text"} & set(mapped) or {"source_language", "target_language"} & set(
            mapped
        ):
            layout = "long"
        else:
            layout = "wide"
    if layout in ("long", "image"):
        required = LONG_REQUIRED if layout == "long" else IMAGE_REQUIRED
        missing = [r for r in required if r not in mapped]
        if missing:
            raise DataError(
                f"{file}: missing column(s) {missing} for the {layout} layout; columns found: {columns}. "
                f"Rename them or map them, e.g. --column {missing[0]}=<your column>"
            )
        return Plan(layout, mapped, base=base, fallbacks=fallbacks)
    used = {mapped[m] for m in META if m in mapped}
    langs = []
    for col in columns:
        if col in used or not col:
            continue
        try:
            code, script = languages.name(col)
        except RegistryError as e:
            raise DataError(f"{file}: column {col!r} of the wide layout is not a language: {e}") from None
        twin = next((c for c, k, s in langs if (k, s) == (code, script)), None)
        if twin is not None:
            raise DataError(
                f"{file}: columns {twin!r} and {col!r} both name {code}{'_' + script if script else ''}; a wide file "
                "has one column per language and script: merge or drop one"
            )
        langs.append((col, code, script))
    if len(langs) < 2:
        raise DataError(
            f"{file}: a wide file needs at least two language columns (e.g. en, fr, zgh_Tfng), found {columns}; "
            "a long file needs columns source_language, target_language, source_text, target_text"
        )
    return Plan("wide", mapped, langs, base=base)


class RowParser:
    """Turns records into units: normalises, checks scripts and lengths, validates images."""

    def __init__(
        self,
        languages: Languages,
        options: PrepareOptions,
        images: ImageStore,
        count_tokens: Callable[[str], int] | None = None,
    ) -> None:
        self.languages = languages
        self.registry = languages.registry
        self.options = options
        self.images = images
        self.count_tokens = count_tokens
        self.twins_skipped = 0
        # script -> characters seen that are neutral or of it, and a pattern finding any other character
        self._script_ok: dict[str, tuple[set[str], re.Pattern[str] | None]] = {}

    # -- one record ---------------------------------------------------------------------------------------
    def parse(self, record: Record, plan: Plan) -> Unit:
        if record.error:
            raise Reject(*record.error)
        if invalid_utf8(
            "".join(v for v in record.data.values() if isinstance(v, str))
        ):  # one search, then which
            for key, value in record.data.items():
                if isinstance(value, str) and (bad := invalid_utf8(value)):
                    raise Reject(
                        "invalid_utf8",
                        f"invalid UTF-8 (byte {bad}) in column {key!r}; re-save the file as UTF-8",
                    )
        get = self._getter(record, plan)
        row_id = get("id") or f"{plan.label or Path(record.file).name}:{record.row}"
        dialect = self._dialect(get("dialect"))
        unit = Unit([], row_id, domain=get("domain"), group=get("group"))
        if plan.layout == "wide":
            unit.cells = self._wide(record, plan, dialect)
        elif plan.layout == "long":
            src = self._cell(get("source_language"), get("source_text"), "source", dialect, get("script"))
            tgt = self._cell(get("target_language"), get("target_text"), "target", dialect, get("script"))
            unit.cells = [src, tgt]
        else:
            self._image(unit, plan, get, dialect)
        return unit

    def _getter(self, record: Record, plan: Plan) -> Callable[[str], str | None]:
        columns, data, fallbacks = plan.columns, record.data, plan.fallbacks

        def get(name: str) -> str | None:
            col = columns.get(name)
            if col is None:
                return None
            value = data.get(col)
            if value is None or value == "":
                col = next((n for n in fallbacks.get(name, ()) if data.get(n) not in (None, "")), None)
                if col is None:
                    return None
                value = data[col]
            if value.__class__ is not str:
                if not isinstance(value, str | int | float):
                    raise Reject("bad_field", f"column {col!r} must hold text, found {type(value).__name__}")
                value = str(value)
            return value.strip() or None

        return get

    def _dialect(self, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return self.languages.dialect(value)
        except RegistryError as e:
            raise Reject("unknown_dialect", str(e)) from None

    def _language(self, name: str | None, where: str, dialect: str | None) -> tuple[str, str | None]:
        if name is None:
            raise Reject(
                "missing_field", f"{where}_language is empty; name the language (e.g. English, zgh_Tfng)"
            )
        try:
            code, script = self.languages.name(name)
        except RegistryError as e:
            raise Reject("unknown_language", f"{where}_language: {e}") from None
        if dialect is not None and self.languages.is_tamazight(code):
            code = dialect
            if script is not None and script not in self.registry.dialect(code).scripts:
                raise Reject("wrong_script", f"{where}: dialect {code} is not written in {script}")
        return code, script

    def _cell(
        self, language: str | None, text: str | None, where: str, dialect: str | None, script_hint: str | None
    ) -> Cell:
        code, script = self._language(language, where, dialect)
        if text is None:
            raise Reject("empty", f"{where}_text is empty")
        if script is None and script_hint is not None and self.languages.is_tamazight(code):
            script = self._script_word(script_hint)
        return self.check(code, script, text, f"{where}_text")

    def _script_word(self, word: str) -> str:
        try:
            return self.languages.tag(f"zgh ({word})")[1]
        except RegistryError as e:
            raise Reject("unknown_script", f"script column: {e}") from None

    def _wide(self, record: Record, plan: Plan, dialect: str | None) -> list[Cell]:
        cells = []
        for col, code, script in plan.language_columns:
            value = record.data.get(col)
            if value is None or (isinstance(value, str) and not value.strip()):
                continue  # a meaning need not exist in every language
            if dialect is not None and self.languages.is_tamazight(code):
                code = dialect
            cell = self.check(code, script, str(value), col)
            if any((c.language, c.script) == (cell.language, cell.script) for c in cells):
                raise Reject(
                    "duplicate_language",
                    f"column {col!r} holds a second {cell.language}_{cell.script} text; a row holds one text per "
                    "language and script",
                )
            cells.append(cell)
        if len(cells) < 2:
            raise Reject("empty", f"only {len(cells)} language column(s) hold text; a row needs two or more")
        return cells

    def _image(self, unit: Unit, plan: Plan, get: Callable[[str], str | None], dialect: str | None) -> None:
        rel = get("image")
        if rel is None:
            raise Reject("missing_field", "the image column is empty")
        rgb = load_rgb(
            corpus_image(plan.base, rel), self.options.min_image_size, self.options.max_image_pixels
        )
        tgt = self._cell(get("target_language"), get("target_text"), "target", dialect, None)
        src_lang, src_text = get("source_language"), get("source_text")
        if src_lang is not None:
            if src_text is not None:
                unit.image_source = self._cell(src_lang, src_text, "source", dialect, get("script"))
            else:
                code, script = self._language(src_lang, "source", dialect)
                script = script or self.registry.language(code).scripts[0]
                unit.image_source = Cell(code, script, "", "")
        elif src_text is not None:
            raise Reject(
                "missing_field", "source_text is given but source_language is empty; name its language"
            )
        unit.image, unit.image_sha = self.images.add(rgb)
        unit.cells = [tgt]

    # -- one text -------------------------------------------------------------------------------------------
    def check(self, code: str, script: str | None, raw: str, where: str) -> Cell:
        """Normalise a text and check it against its language, script and length limits."""
        if script is None:
            scripts = self.registry.language(code).scripts
            script = scripts[0] if len(scripts) == 1 else (dominant_script(raw) or scripts[0])
            if script not in scripts:
                raise Reject(
                    "wrong_script",
                    f"{where}: {code} text written in {script}; {code} is written in {', '.join(scripts)}",
                )
        text = self.registry.normaliser(code)(raw, script)
        if not text:
            raise Reject("empty", f"{where} is empty after normalisation")
        if len(text) < self.options.min_chars:
            raise Reject(
                "too_short", f"{where} has {len(text)} characters, under min_chars={self.options.min_chars}"
            )
        if len(text) > self.options.max_chars:
            raise Reject(
                "too_long", f"{where} has {len(text)} characters, over max_chars={self.options.max_chars}"
            )
        self._check_script(text, script, where)
        if self.count_tokens is not None and self.options.max_tokens is not None:
            n = self.count_tokens(text)
            if n > self.options.max_tokens:
                raise Reject(
                    "too_many_tokens", f"{where} has {n} tokens, over max_tokens={self.options.max_tokens}"
                )
        return Cell(code, script, text, raw)

    def _check_script(self, text: str, script: str, where: str) -> None:
        ok, other = self._script_ok.get(script, (set(), None))
        if other is not None and not other.search(text):
            return  # only characters already seen neutral or of the script: nothing to count
        fresh = {c for c in set(text) - ok if char_script(c) in (None, script)}
        if fresh:
            ok |= fresh
            self._script_ok[script] = (ok, re.compile("[^" + "".join(map(re.escape, sorted(ok))) + "]"))
        counts = script_counts(text)
        total = sum(counts.values())
        foreign = total - counts.get(script, 0)
        if foreign and (
            foreign / total > self.options.max_foreign_share or counts.most_common(1)[0][0] != script
        ):
            detail = ", ".join(f"{n} {s}" for s, n in counts.most_common() if s != script)
            raise Reject(
                "wrong_script",
                f"{where}: declared script {script} but {foreign} of {total} letters are of another script "
                f"({detail}); at most {self.options.max_foreign_share:.0%} is tolerated",
            )

    def twins(self, cells: Iterable[Cell]) -> list[Cell]:
        """The other-script twin of each Tamazight text whose script is not already present (marked derived)."""
        cells = list(cells)
        have = {(c.language, c.script) for c in cells}
        out = []
        for c in cells:
            dialect = self.registry.dialects.get(c.language)
            if dialect is None or dialect.transliterator is None or c.derived:
                continue
            for other in dialect.transliterator.scripts:
                if other == c.script or other not in dialect.scripts or (c.language, other) in have:
                    continue
                raw = dialect.transliterator.transliterate(c.text, c.script, other)
                try:
                    twin = self.check(c.language, other, raw, f"{c.language}_{other} (transliterated)")
                except Reject:
                    twin = None
                if twin is None or script_counts(twin.text).get(c.script):
                    self.twins_skipped += (
                        1  # e.g. a letter outside the table: no twin rather than a wrong one
                    )
                    continue
                twin.derived = True
                have.add((c.language, other))
                out.append(twin)
        return out
