"""Corrections and approvals as a corpus file for ``tmz data prepare`` (its long layout), with provenance.

One row per item and reviewed text: each distinct correction, and the translation itself when reviewers
approved it (see :attr:`Judgement.approved`). Languages are written as tags (``en_Latn``, ``zgh_Tfng``), which
tmz-data reads as language and script; provenance goes in extra columns, which tmz-data's long layout ignores.
"""

from __future__ import annotations

import csv
import io
import os
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from tmz.core.atomic import write_text_atomic
from tmz.review.item import Item
from tmz.review.judgement import Judgement
from tmz.review.store import Store

COLUMNS = (
    "source_language", "target_language", "source_text", "target_text", "dialect", "domain", "id", "group",
    "status", "reviewers", "reviewer_count", "validation", "origin", "model_text", "phrase_set", "phrase_id",
    "bundle_sha256", "prompt_format", "reviewed",
)  # fmt: skip


@dataclass(frozen=True)
class ExportSummary:
    """What an export wrote."""

    path: Path
    corrections: int
    approvals: int


def _reviewed_texts(judgements: list[Judgement], item: Item) -> list[tuple[str, str, list[Judgement]]]:
    """(status, text, judgements) per text the reviewers gave: approvals of the translation, then corrections."""
    out = []
    approvals = [j for j in judgements if j.approved]
    if approvals:
        out.append(("approved", item.text, approvals))
    by_text: dict[str, list[Judgement]] = defaultdict(list)
    for j in judgements:
        if j.correction is not None:
            by_text[j.correction].append(j)
    out += [("corrected", text, js) for text, js in by_text.items()]
    return out


def export_rows(store: Store) -> list[dict[str, str]]:
    """The rows of the export, item by item."""
    per_item: dict[int, tuple[Item, list[Judgement]]] = {}
    for j, item in store.judgements():
        assert item.id is not None
        per_item.setdefault(item.id, (item, []))[1].append(j)
    rows = []
    for item_id, (item, judgements) in per_item.items():
        validated = sum(j.approved for j in judgements)
        for n, (status, text, js) in enumerate(_reviewed_texts(judgements, item), start=1):
            rows.append({
                "source_language": f"{item.source_language}_{item.source_script}",
                "target_language": f"{item.target_language}_{item.target_script}",
                "source_text": item.source_text,
                "target_text": text,
                "dialect": item.dialect or "",
                "domain": item.domain or "",
                "id": f"review-{item_id}-{n}",
                "group": f"review-{item_id}",  # the variants of one item stay in one split
                "status": status,
                "reviewers": ";".join(sorted({j.reviewer for j in js})),
                "reviewer_count": str(len({j.reviewer for j in js})),
                "validation": (
                    f"validated by {validated} reviewer{'' if validated == 1 else 's'}"
                    if item.origin == "phrasebook" else ""
                ),
                "origin": item.origin,
                "model_text": item.text,
                "phrase_set": item.phrase_set or "",
                "phrase_id": item.phrase_id or "",
                "bundle_sha256": ";".join(sorted({j.bundle_sha256 for j in js})),
                "prompt_format": ";".join(sorted({j.prompt_format for j in js})),
                "reviewed": max(j.created for j in js)[:10],
            })  # fmt: skip
    return rows


def export(store: Store, out: str | os.PathLike[str]) -> ExportSummary:
    """Write the corpus csv ``out`` atomically (UTF-8, a header row even when nothing was reviewed yet)."""
    rows = export_rows(store)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path = write_text_atomic(out, buf.getvalue())
    return ExportSummary(
        path, sum(r["status"] == "corrected" for r in rows), sum(r["status"] == "approved" for r in rows)
    )
