"""The real English / zgh Tifinagh seed corpus from ../shared (skipped when it is absent)."""

from __future__ import annotations

import pytest

from tmz.core.text import dominant_script

from .conftest import SHARED_DATA, all_rows, read_jsonl

SEED = SHARED_DATA / "oldi_seed_zgh_eng"


@pytest.fixture(scope="module")
def seed_dataset(tmp_path_factory):
    if not SEED.is_dir():
        pytest.skip(f"{SEED} is absent (clone the repo with shared/ beside it)")
    from tmz.data import prepare

    out = tmp_path_factory.mktemp("seed") / "out"
    return prepare(SEED, out, progress=False, transliterate=True), out


def test_the_seed_corpus_prepares_with_every_reject_explained(seed_dataset):
    manifest, out = seed_dataset
    rows = manifest.results["rows"]
    assert rows["in"] == 6193 and rows["accepted"] + rows["rejected"] == 6193
    assert rows["accepted"] > 6100
    rejects = read_jsonl(out / "rejects.jsonl")
    assert len(rejects) == rows["rejected"]
    for r in rejects:
        assert r["code"] in ("wrong_script", "duplicate", "duplicate_normalised", "length_ratio", "too_long")
        assert r["reason"] and 1 <= r["line"] <= 6193
    assert manifest.directions == [
        "en_Latn->zgh_Latn", "en_Latn->zgh_Tfng", "zgh_Latn->en_Latn", "zgh_Tfng->en_Latn"
    ]  # fmt: skip
    assert [s["files"][1]["language"] for s in manifest.settings["sources"]] == ["zgh_Tfng"]


def test_seed_splits_do_not_leak_and_twins_are_latin(seed_dataset):
    _, out = seed_dataset
    where: dict[str, str] = {}
    for split, rows in all_rows(out).items():
        for r in rows:
            assert where.setdefault(r["source_text"], split) == split
            if r["target_script"] == "Tfng":
                assert dominant_script(r["target_text"]) == "Tfng"
            if r["derived"]:
                assert "Tfng" in (r["source_script"], r["target_script"]) or r["target_script"] == "Latn"
                assert "Latn" in (r["source_script"], r["target_script"])
