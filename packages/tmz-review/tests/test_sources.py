"""Review items from batch runs, corpora, datasets and phrasebooks."""

from __future__ import annotations

import json

import pytest

from tmz.core.plugins import get_registry
from tmz.review.errors import ReviewDataError
from tmz.review.serve import prepare
from tmz.review.sources import batch_items, corpus_requests, is_batch_run, phrasebook_items, requests_of
from tmz.review.store import Store
from tmz.runtime.phrasebook import Phrasebook

from .conftest import translation, write_batch_run


def test_a_batch_run_gives_the_bundles_answers(batch_run, bundle):
    from tmz.core.manifest import sha256_file

    assert is_batch_run(batch_run)
    items = batch_items(get_registry(), batch_run, sha256_file(bundle))
    assert [it.direction for it in items] == ["en_Latn->zgh_Tfng", "ar_Arab->zgh_Tfng", "fr_Latn->zgh_Latn"]
    assert items[1].source_text == "اغسل يديك بالماء." and items[1].variety == "zgh"
    assert all(it.origin == "model" and it.bundle_sha256 == sha256_file(bundle) for it in items)


def test_a_batch_run_of_another_bundle_is_refused(tmp_path):
    run = write_batch_run(
        tmp_path / "x.jsonl", [translation("en", "Latn", "zgh", "Tfng", "Hi.", "ⴰⵣⵓⵍ.", "ef" * 32)]
    )
    with pytest.raises(
        ReviewDataError, match=r"x.jsonl:1: translated by bundle sha256 efefefefefef\.\.\., not"
    ):
        batch_items(get_registry(), run, "ab" * 32)
    broken = tmp_path / "broken.jsonl"
    broken.write_text(json.dumps({"origin": "model", "direction": "en_Latn->zgh_Tfng", "text": "x"}) + "\n")
    with pytest.raises(ReviewDataError, match="broken.jsonl:1: not a Translation record"):
        batch_items(get_registry(), broken, "ab" * 32)


def test_a_long_corpus_gives_requests_and_a_wide_one_is_sent_to_tmz_data(tmp_path):
    long = tmp_path / "long.csv"
    long.write_text(
        "source_language,target_language,source_text,target_text,dialect,domain\n"
        "English,zgh_Tfng,Wash your hands.,ⵙⵉⵔⴷ ⴰⴼⵓⵙ.,,health\n"
        "fr,Tamazight (Latin),Bonne nuit.,,tzm,\n",
        encoding="utf-8",
    )
    first, second = corpus_requests(long)
    assert (first.src, first.tgt, first.reference, first.domain) == (
        "English",
        "zgh_Tfng",
        "ⵙⵉⵔⴷ ⴰⴼⵓⵙ.",
        "health",
    )
    assert (second.dialect, second.reference, second.row_id) == ("tzm", None, "long.csv:3")
    wide = tmp_path / "wide.csv"
    wide.write_text("en,zgh_Tfng\nWater,ⴰⵎⴰⵏ\n", encoding="utf-8")
    with pytest.raises(
        ReviewDataError, match="wide.csv:2: source_language, target_language, source_text empty"
    ):
        corpus_requests(wide)
    with pytest.raises(ReviewDataError, match="not a dataset"):
        requests_of(tmp_path, "test")
    with pytest.raises(ReviewDataError, match="no such dataset or corpus"):
        requests_of(tmp_path / "nope.csv", "test")


def test_phrasebook_entries_are_items_per_tamazight_text(tmp_path):
    book = tmp_path / "clinic.csv"
    book.write_text(
        "id,domain,fr,en,zgh_Tfng,zgh_Latn\nc-1,health,Fièvre,Fever,ⵜⴰⵡⵔⴰ,tawra\nc-2,,,,ⴰⵎⴰⵏ,aman\n",
        encoding="utf-8",
    )
    registry = get_registry()
    items, skipped = phrasebook_items(registry, Phrasebook.load(registry, [book]))
    assert skipped == 1  # c-2 has no text outside Tamazight
    assert [(it.direction, it.text) for it in items] == [
        ("en_Latn->zgh_Tfng", "ⵜⴰⵡⵔⴰ"),
        ("en_Latn->zgh_Latn", "tawra"),
    ]
    assert {(it.origin, it.phrase_set, it.phrase_id, it.domain) for it in items} == {
        ("phrasebook", "clinic", "c-1", "health")
    }


def test_prepare_keeps_items_across_restarts_and_filters_directions(tmp_path, batch_run, bundle):
    registry = get_registry()
    with Store(tmp_path / "review.sqlite") as store:
        first = prepare(store, registry, bundle, [batch_run], [])
        again = prepare(store, registry, bundle, [batch_run], [])
        assert (first.new, again.new) == (3, 0) and first.config.item_ids == again.config.item_ids
        only = prepare(store, registry, bundle, [batch_run], [], directions=frozenset({"ar_Arab->zgh_Tfng"}))
        assert len(only.config.item_ids) == 1
        with pytest.raises(ReviewDataError, match="no such bundle"):
            prepare(store, registry, tmp_path / "nope.litertlm", [batch_run], [])
        with pytest.raises(ReviewDataError, match="nothing to review"):
            prepare(store, registry, bundle, [], [])
