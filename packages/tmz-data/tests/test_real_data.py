"""The real English / zgh Tifinagh seed corpus from ../shared/data (a failure when it is absent)."""

from __future__ import annotations

import pytest

from tmz.core.text import dominant_script, script_counts
from tmz.data.transliteration import transliterate
from tmz_shared import shared_data

from .conftest import all_rows, read_jsonl


@pytest.fixture(scope="module")
def seed_dataset(tmp_path_factory):
    from tmz.data import prepare

    out = tmp_path_factory.mktemp("seed") / "out"
    return prepare(shared_data("oldi_seed_zgh_eng"), out, progress=False, transliterate=True), out


def test_the_seed_corpus_prepares_with_every_reject_explained(seed_dataset):
    manifest, out = seed_dataset
    rows = manifest.results.rows
    assert rows.read == 6193 and rows.accepted + rows.rejected == 6193
    assert rows.accepted > 6100
    rejects = read_jsonl(out / "rejects.jsonl")
    assert len(rejects) == rows.rejected
    for r in rejects:
        assert r["code"] in ("wrong_script", "duplicate", "duplicate_normalised", "length_ratio", "too_long")
        assert r["reason"] and 1 <= r["line"] <= 6193
    assert manifest.directions == [
        "en_Latn->zgh_Latn", "en_Latn->zgh_Tfng", "zgh_Latn->en_Latn", "zgh_Tfng->en_Latn"
    ]  # fmt: skip
    assert [s.files[1].language for s in manifest.settings.sources] == ["zgh_Tfng"]
    assert manifest.settings.transliterate is True


def test_seed_splits_do_not_leak(seed_dataset):
    _, out = seed_dataset
    where: dict[str, str] = {}
    for split, rows in all_rows(out).items():
        for r in rows:
            assert where.setdefault(r["source_text"], split) == split
            if r["target_script"] == "Tfng":
                assert dominant_script(r["target_text"]) == "Tfng"


def test_seed_twins_are_the_ircam_latin_of_their_tifinagh_rows(seed_dataset):
    """Each derived row is its Tifinagh row with the Tamazight side in Latin: IRCAM of the original, and back."""
    manifest, out = seed_dataset
    rows = {r["id"]: r for split in all_rows(out).values() for r in split}
    derived = [r for r in rows.values() if r["derived"]]
    assert len(derived) == manifest.results.examples.derived > 12000
    pure = 0
    for r in derived:
        side = "source" if r["source_language"] == "zgh" else "target"
        latin = r[f"{side}_text"]
        assert r[f"{side}_script"] == "Latn" and "Tfng" not in script_counts(latin), r["id"]
        unit, direction = r["id"].split("|")
        original = rows[f"{unit}|{direction.replace('zgh_Latn', 'zgh_Tfng')}"]
        other = "target" if side == "source" else "source"
        assert original[f"{other}_text"] == r[f"{other}_text"] and not original["derived"]
        tifinagh = original[f"{side}_text"]
        assert transliterate(tifinagh, "Latn", source_script="Tfng") == latin, r["id"]
        if set(script_counts(tifinagh)) == {"Tfng"}:  # no names in another script: the way back is exact too
            pure += 1
            assert transliterate(latin, "Tfng", source_script="Latn") == tifinagh, r["id"]
    assert pure > 0.9 * len(derived)
