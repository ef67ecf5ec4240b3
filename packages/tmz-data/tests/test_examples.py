"""The project's own example corpus (phrases and sign images) prepares without a reject."""

from __future__ import annotations

import csv

from tmz.core.tamazight import IrcamTransliterator
from tmz.core.text import dominant_script

from .conftest import REPO, all_rows

CORPUS = REPO / "examples" / "corpus"


def test_example_phrases_are_consistent():
    with open(CORPUS / "phrases.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert 60 <= len(rows) <= 120
    assert {r["domain"] for r in rows} == {"emergency", "government", "daily"}
    ircam = IrcamTransliterator()
    for r in rows:
        assert dominant_script(r["zgh_Tfng"]) == "Tfng" and dominant_script(r["ar"]) == "Arab"
        assert ircam.to_latin(r["zgh_Tfng"]) == r["zgh_Latn"].lower()


def test_example_corpus_prepares_without_rejects(example_dataset):
    from tmz.core.manifest import load_manifest

    manifest = load_manifest(example_dataset, expect_kind="dataset")
    rows = manifest.results.rows
    assert rows.rejected == 0 and rows.accepted == rows.read
    splits = all_rows(example_dataset)
    assert all(splits.values())
    images = [r for rs in splits.values() for r in rs if r["image"]]
    assert len(images) >= 5 and all((example_dataset / r["image"]).is_file() for r in images)
