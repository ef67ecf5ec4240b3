"""Curated phrase sets looked up before the model is called, so that critical phrases are always the curated ones.

A phrase set is a wide csv (tmz-data's multi-parallel format): one row per meaning, one column per
language-script (``en``, ``fr``, ``ar``, ``zgh_Tfng``, ``zgh_Latn``), optional ``id`` and ``domain`` columns, and
an optional ``validated_by`` column: how many reviewers approved the phrase (tmz review), blank when unknown.
A phrase matches when the request equals it after the language's normaliser, case folding and dropping
final punctuation (``Where is the hospital`` finds ``Where is the hospital?``).
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from tmz.core.errors import RegistryError
from tmz.core.prompt import Side
from tmz.core.registry import Registry
from tmz.runtime.errors import PhrasebookError
from tmz.runtime.languages import to_script

META_COLUMNS = ("id", "domain", "validated_by")
_FINAL_PUNCTUATION = " .!?؟…。¡¿"

Column = tuple[str, str]  # (language code, script)


@dataclass(frozen=True)
class Phrase:
    """One curated meaning in several languages and scripts."""

    phrase_set: str  # the csv file's stem: emergency, government, daily, ...
    id: str
    domain: str
    texts: dict[Column, str]
    file: str
    line: int
    validated_by: int | None = None  # reviewers who approved it; None: the phrase set does not say

    @property
    def validation(self) -> str:
        """``validated by N reviewers``, or ``not validated``."""
        n = self.validated_by or 0
        return f"validated by {n} reviewer{'' if n == 1 else 's'}" if n else "not validated"


@dataclass(frozen=True)
class PhraseMatch:
    """A phrasebook answer: the curated text and the phrase it came from."""

    text: str
    phrase: Phrase
    converted_from: str | None = None  # script the curated text was transliterated from, if any


def phrase_key(registry: Registry, code: str, script: str, text: str) -> str:
    """What two phrases must share to match: normalised, case-folded, without final punctuation."""
    return registry.normaliser(code)(text, script).casefold().rstrip(_FINAL_PUNCTUATION)


def _column(registry: Registry, name: str, where: str) -> Column:
    try:
        code, script = registry.resolve(name)
    except RegistryError as e:
        raise PhrasebookError(f"{where}: column {name!r} is not a language: {e}") from None
    scripts = registry.language(code).scripts
    if script is None:
        if len(scripts) > 1:
            raise PhrasebookError(
                f"{where}: column {name!r} does not say which script ({', '.join(scripts)}); "
                f"name it like {code}_{scripts[0]}"
            )
        script = scripts[0]
    if script not in scripts:
        raise PhrasebookError(
            f"{where}: column {name!r}: {code} is not written in {script} ({list(scripts)})"
        )
    return code, script


def _reviewers(cell: str, where: str) -> int | None:
    if not cell:
        return None
    if not cell.isascii() or not cell.isdigit():
        raise PhrasebookError(
            f"{where}: validated_by {cell!r} is not a number of reviewers (0, 1, 2 ...; blank when unknown)"
        )
    return int(cell)


def read_phrase_set(registry: Registry, path: str | os.PathLike[str]) -> list[Phrase]:
    """Read one phrase-set csv (UTF-8, with or without BOM) into phrases; PhrasebookError names the bad cell."""
    path = Path(path)
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            rows = list(csv.reader(f))
    except FileNotFoundError:
        raise PhrasebookError(f"{path}: no such phrase set; pass a csv file or a folder of them") from None
    except UnicodeDecodeError as e:
        raise PhrasebookError(f"{path}: not UTF-8 ({e}); save the phrase set as UTF-8") from None
    if not rows:
        raise PhrasebookError(f"{path}: empty file; a phrase set needs a header row of language columns")
    header = [h.strip() for h in rows[0]]
    columns = {i: _column(registry, h, f"{path}:1") for i, h in enumerate(header) if h not in META_COLUMNS}
    if len(set(columns.values())) != len(columns):
        raise PhrasebookError(f"{path}:1: a language-script column appears twice in {header}")
    if len(columns) < 2:
        raise PhrasebookError(f"{path}:1: a phrase set needs at least two language columns, found {header}")
    phrases = []
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise PhrasebookError(
                f"{path}:{line}: {len(row)} cells for {len(header)} columns; quote cells with commas"
            )
        meta = {h: row[i].strip() for i, h in enumerate(header) if h in META_COLUMNS}
        texts = {col: row[i].strip() for i, col in columns.items() if row[i].strip()}
        if len(texts) < 2:
            raise PhrasebookError(f"{path}:{line}: a phrase needs text in at least two languages")
        phrase_id = meta.get("id") or f"{path.stem}-{line}"
        validated_by = _reviewers(meta.get("validated_by", ""), f"{path}:{line}")
        phrases.append(
            Phrase(
                path.stem, phrase_id, meta.get("domain") or path.stem, texts, str(path), line, validated_by
            )
        )
    return phrases


class Phrasebook:
    """Phrases indexed by (language, script, normalised text) for exact look-up."""

    def __init__(self, registry: Registry, phrases: Iterable[Phrase]) -> None:
        self.registry = registry
        self.phrases = list(phrases)
        self._index: dict[tuple[str, str, str], Phrase] = {}
        for phrase in self.phrases:
            for (code, script), text in phrase.texts.items():
                key = (code, script, phrase_key(registry, code, script, text))
                other = self._index.setdefault(key, phrase)
                shared = other.texts.keys() & phrase.texts.keys()
                if other is not phrase and any(other.texts[c] != phrase.texts[c] for c in shared):
                    raise PhrasebookError(
                        f"{phrase.file}:{phrase.line}: {text!r} ({code}_{script}) is also in "
                        f"{other.file}:{other.line} with other translations; keep one"
                    )

    @classmethod
    def load(cls, registry: Registry, paths: Iterable[str | os.PathLike[str]]) -> Phrasebook:
        """Phrase sets from csv files and folders of them (every ``*.csv``, sorted)."""
        phrases: list[Phrase] = []
        for p in map(Path, paths):
            files = sorted(p.glob("*.csv")) if p.is_dir() else [p]
            if p.is_dir() and not files:
                raise PhrasebookError(f"{p}: folder holds no *.csv phrase set")
            for f in files:
                phrases += read_phrase_set(registry, f)
        return cls(registry, phrases)

    def __len__(self) -> int:
        return len(self.phrases)

    def __iter__(self) -> Iterator[Phrase]:
        return iter(self.phrases)

    @property
    def sets(self) -> list[str]:
        return sorted({p.phrase_set for p in self.phrases})

    def lookup(self, text: str, source: Side, target: Side) -> PhraseMatch | None:
        """The curated translation of ``text``, or None when the phrasebook does not hold it.

        Text typed in the other script of a Tamazight variety also matches, and a target held only in
        another script of the target language is transliterated to the one asked for.
        """
        phrase = self._find(text, source)
        if phrase is None:
            return None
        if (target.language, target.script) in phrase.texts:
            return PhraseMatch(phrase.texts[(target.language, target.script)], phrase)
        for (code, script), curated in phrase.texts.items():
            if code == target.language:
                converted = to_script(self.registry, code, curated, target.script)
                if converted != curated:
                    return PhraseMatch(converted, phrase, converted_from=script)
        return None

    def _find(self, text: str, source: Side) -> Phrase | None:
        code = source.language
        scripts = self.registry.language(code).scripts
        for script in (source.script, *(s for s in scripts if s != source.script)):
            candidate = to_script(self.registry, code, text, script)
            if script != source.script and candidate == text:
                continue
            phrase = self._index.get((code, script, phrase_key(self.registry, code, script, candidate)))
            if phrase is not None:
                return phrase
        return None
