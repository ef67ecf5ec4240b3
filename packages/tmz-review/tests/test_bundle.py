"""Translations for review made by tmz-runtime on a real bundle (the tiny memorised model), kept across restarts."""

from __future__ import annotations

import csv

import pytest

from tmz.core.manifest import sha256_file
from tmz.core.plugins import get_registry
from tmz.review.serve import prepare
from tmz.review.store import Store


@pytest.mark.slow
def test_a_corpus_is_translated_by_the_bundle(tiny_text_bundles, memorised_text_pairs, tmp_path):
    bundle = tiny_text_bundles["litertlm"]
    pairs = [p for p in memorised_text_pairs if p.source is not None][:2]
    corpus = tmp_path / "corpus.csv"
    with corpus.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["source_language", "target_language", "source_text", "dialect"])
        for p in pairs:
            writer.writerow([f"{p.source.language}_{p.source.script}", f"{p.target.language}_{p.target.script}",
                             p.input, p.target.dialect or ""])  # fmt: skip
    with Store(tmp_path / "review.sqlite") as store:
        prepared = prepare(store, get_registry(), bundle, [corpus], [])
        items = [store.item(i) for i in prepared.config.item_ids]
        assert prepared.new == len(pairs) == len(items)
        assert all(it.origin == "model" and it.bundle_sha256 == sha256_file(bundle) for it in items)
        assert [it.text for it in items] == [p.answer for p in pairs]  # greedy: the memorised answers
        again = prepare(store, get_registry(), bundle, [corpus], [])  # stored: not translated again
        assert again.new == 0 and again.config.item_ids == prepared.config.item_ids
