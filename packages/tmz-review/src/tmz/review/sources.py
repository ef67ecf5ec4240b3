"""Where review items come from: a batch run's JSON lines, a dataset or a long corpus translated with the bundle,
and phrasebooks.

A batch run (``tmz translate --file F --out x.jsonl``) already holds the bundle's answers; a dataset directory
(``tmz data prepare``: its split's text rows, transliterated twins left out) or a long corpus file (columns
source_language, target_language, source_text; optional target_text, dialect, domain, id) is translated by
tmz-runtime's Translator on the bundle itself.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.progress import track

from tmz.core.dataset import JSONL_DIR, read_split
from tmz.core.errors import TmzError
from tmz.core.registry import Registry
from tmz.review.errors import ReviewDataError
from tmz.review.item import Item
from tmz.runtime.languages import direction_of, sides
from tmz.runtime.phrasebook import Phrasebook
from tmz.runtime.translation import Translation

if TYPE_CHECKING:
    from tmz.runtime.translator import Translator

LONG_REQUIRED = ("source_language", "target_language", "source_text")
#: Source columns of a phrase, most preferred first (then any other language that is not Tamazight).
PHRASE_SOURCES = ("en", "fr", "ar")
_TRANSLATION_FIELDS = {f.name for f in fields(Translation)}


@dataclass(frozen=True)
class Request:
    """One source text to translate with the bundle, and what the data says about it."""

    source_text: str
    src: str  # code or tag, as the data names it
    tgt: str
    dialect: str | None
    domain: str | None
    reference: str | None
    row_id: str
    where: str  # file:line, for errors


def variety(registry: Registry, languages: Iterable[str | None], dialect: str | None) -> str:
    """The Tamazight variety of an item: its dialect, else the code of its Tamazight side, else ``none``."""
    if dialect:
        return dialect
    return next((code for code in languages if code in registry.dialects), "none")


def item_of(registry: Registry, t: Translation, domain: str | None = None, reference: str | None = None,
            row_id: str | None = None) -> Item:  # fmt: skip
    """The review item of one answer of tmz-runtime."""
    assert t.source_text is not None and t.source_language is not None and t.source_script is not None
    return Item(
        origin=t.origin, direction=t.direction, source_language=t.source_language, source_script=t.source_script,
        target_language=t.target_language, target_script=t.target_script, source_text=t.source_text,
        text=t.text, dialect=t.dialect, variety=variety(registry, (t.source_language, t.target_language), t.dialect),
        domain=domain, reference=reference, bundle_sha256=t.bundle_sha256, phrase_set=t.phrase_set,
        phrase_id=t.phrase_id, row_id=row_id,
    )  # fmt: skip


def is_batch_run(path: Path) -> bool:
    """Whether ``path`` is a ``.jsonl`` of tmz-runtime Translation records (its first record says so)."""
    if path.suffix != ".jsonl" or not path.is_file():
        return False
    with path.open(encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.strip() and line.strip() != "null":
                try:
                    first = json.loads(line)
                except json.JSONDecodeError:
                    return False
                return isinstance(first, dict) and {"origin", "direction", "text"} <= first.keys()
    return False


def batch_items(registry: Registry, path: Path, bundle_sha256: str) -> list[Item]:
    """The answers of a batch run; ReviewDataError when a record is broken or another bundle wrote it."""
    items = []
    with path.open(encoding="utf-8") as f:
        for line_no, line in enumerate(f, start=1):
            if not line.strip() or line.strip() == "null":  # null: a blank line of the translated file
                continue
            where = f"{path}:{line_no}"
            try:
                obj = json.loads(line)
                t = Translation(**{k: v for k, v in obj.items() if k in _TRANSLATION_FIELDS})
            except (json.JSONDecodeError, TypeError, AttributeError) as e:
                raise ReviewDataError(
                    f"{where}: not a Translation record ({e}); pass the .jsonl `tmz translate --file F --out "
                    "x.jsonl` wrote"
                ) from None
            if t.source_text is None or t.source_language is None or t.source_script is None:
                raise ReviewDataError(f"{where}: an image translation has no source text to review; drop it")
            if t.origin == "model" and t.bundle_sha256 != bundle_sha256:
                raise ReviewDataError(
                    f"{where}: translated by bundle sha256 {str(t.bundle_sha256)[:12]}..., not the bundle served "
                    f"({bundle_sha256[:12]}...); serve the bundle that wrote it, or translate the file again"
                )
            items.append(item_of(registry, t))
    if not items:
        raise ReviewDataError(f"{path}: holds no translations to review")
    return items


def dataset_requests(path: Path, split: str) -> list[Request]:
    """The text rows of one split of a dataset directory (transliterated twins left out)."""
    return [
        Request(
            ex.source_text,
            f"{ex.source_language}_{ex.source_script}",
            f"{ex.target_language}_{ex.target_script}",
            ex.dialect,
            ex.domain,
            ex.target_text,
            ex.id,
            f"{path} ({split}) row {ex.id}",
        )  # fmt: skip
        for ex in read_split(path, split)
        if ex.source_text and not ex.image and not ex.derived
    ]


def _records(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line, record) of a csv, tsv or jsonl corpus file."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            if path.suffix == ".jsonl":
                for line_no, line in enumerate(f, start=1):
                    if line.strip():
                        try:
                            obj = json.loads(line)
                        except json.JSONDecodeError as e:
                            raise ReviewDataError(
                                f"{path}:{line_no}: invalid JSON ({e.msg}); fix the line"
                            ) from None
                        if not isinstance(obj, dict):
                            raise ReviewDataError(f"{path}:{line_no}: a JSON line must be an object")
                        yield line_no, obj
            else:
                reader = csv.DictReader(f, delimiter="\t" if path.suffix == ".tsv" else ",")
                for row in reader:
                    yield reader.line_num, row
    except UnicodeDecodeError as e:
        raise ReviewDataError(f"{path}: not UTF-8 at byte {e.start}; save it as UTF-8") from None


def corpus_requests(path: Path) -> list[Request]:
    """The rows of a long corpus file (csv, tsv or jsonl)."""
    if path.suffix not in (".csv", ".tsv", ".jsonl"):
        raise ReviewDataError(
            f"{path}: not a dataset directory, a batch-run .jsonl or a .csv/.tsv/.jsonl corpus; pass one of those"
        )
    out = []
    for line, row in _records(path):
        missing = [c for c in LONG_REQUIRED if not str(row.get(c) or "").strip()]
        if missing:
            raise ReviewDataError(
                f"{path}:{line}: {', '.join(missing)} empty or missing; a corpus to review needs the long layout "
                f"({', '.join(LONG_REQUIRED)}), or prepare a wide one with `tmz data prepare` and pass the dataset"
            )

        def get(column: str, row: dict[str, Any] = row) -> str | None:
            return str(row.get(column) or "").strip() or None

        out.append(Request(
            str(row["source_text"]).strip(), str(row["source_language"]).strip(), str(row["target_language"]).strip(),
            get("dialect"), get("domain"), get("target_text"), get("id") or f"{path.name}:{line}", f"{path}:{line}",
        ))  # fmt: skip
    return out


def requests_of(path: str | os.PathLike[str], split: str) -> list[Request]:
    """The requests of a dataset directory or a corpus file."""
    path = Path(path)
    if path.is_dir():
        if not (path / JSONL_DIR).is_dir():
            raise ReviewDataError(
                f"{path}: a folder but not a dataset (no {JSONL_DIR}/); pass what `tmz data prepare` wrote"
            )
        return dataset_requests(path, split)
    if not path.is_file():
        raise ReviewDataError(f"{path}: no such dataset or corpus file; check the path")
    return corpus_requests(path)


def request_key(translator: Translator, r: Request) -> tuple[str, str]:
    """The direction of ``r`` and the key the bundle's answer will have as an item (no translation needed)."""
    try:
        source, target = sides(translator.registry, r.src, r.tgt, r.source_text, dialect=r.dialect)
    except TmzError as e:
        raise type(e)(f"{r.where}: {e}") from e
    direction = direction_of(source, target)
    dialect = target.dialect or source.dialect
    key = Item("model", direction, "", "", "", "", r.source_text, "", dialect=dialect,
               bundle_sha256=translator.bundle.sha256).key  # fmt: skip
    return direction, key


def translate(translator: Translator, requests: list[Request], skip: set[str]) -> list[Item]:
    """The bundle's answer to every request but those whose item key is in ``skip`` (stored already)."""
    todo = [r for r in requests if request_key(translator, r)[1] not in skip]
    out = []
    for r in track(todo, description=f"translating {len(todo)} texts for review", transient=True):
        try:
            t = translator.translate(r.source_text, r.src, r.tgt, dialect=r.dialect)
        except TmzError as e:
            raise type(e)(f"{r.where}: {e}") from e
        out.append(item_of(translator.registry, t, r.domain, r.reference, r.row_id))
    return out


def phrasebook_items(registry: Registry, phrasebook: Phrasebook) -> tuple[list[Item], int]:
    """One item per Tamazight text of each phrase, its source the phrase's English (else French, Arabic, any
    other language); and how many phrases had no text outside Tamazight to pair with."""
    items, skipped = [], 0
    for phrase in phrasebook:
        others = [c for c in phrase.texts if c[0] not in registry.dialects]
        if not others:
            skipped += 1
            continue
        source = min(
            others,
            key=lambda c: PHRASE_SOURCES.index(c[0]) if c[0] in PHRASE_SOURCES else len(PHRASE_SOURCES),
        )
        for (code, script), text in phrase.texts.items():
            if code not in registry.dialects:
                continue
            items.append(Item(
                origin="phrasebook", direction=f"{source[0]}_{source[1]}->{code}_{script}", source_language=source[0],
                source_script=source[1], target_language=code, target_script=script, source_text=phrase.texts[source],
                text=text, variety=code, domain=phrase.domain, phrase_set=phrase.phrase_set, phrase_id=phrase.id,
                row_id=phrase.id,
            ))  # fmt: skip
    return items, skipped
