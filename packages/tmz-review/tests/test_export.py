"""The export: corrections and approvals as a long corpus that tmz-data prepares, with provenance columns."""

from __future__ import annotations

import csv

from tmz.core.dataset import REJECTS_FILE, SPLITS, read_split
from tmz.review.export import COLUMNS, export
from tmz.review.item import Item

from .test_app import make_item

COMMON = dict(bundle_sha256="ab" * 32, prompt_format="tmz-v1")


def judge(store, item: Item, reviewer: int, adequacy: int, fluency: int, errors=(), correction=None) -> None:
    [item_id] = store.ids([item.key])
    store.judge(item_id, reviewer, adequacy=adequacy, fluency=fluency, errors=list(errors), correction=correction,
                direction=item.direction, **COMMON)  # fmt: skip


def reviewed_store(store) -> None:
    """Two reviewers: a shared correction, an approval against a correction, a validated phrase, a rejection."""
    water = make_item("Boil the water before you drink it.", "ⵙⵙ ⴰⵎⴰⵏ.", domain="health")
    door = make_item("Close the door, please.", "ⵔⴳⵍ ⵜⴰⵡⵡⵓⵔⵜ, ⵜⵜⵅⵉⵍ.")
    tzm = Item(
        origin="model", direction="fr_Latn->tzm_Latn", source_language="fr", source_script="Latn",
        target_language="tzm", target_script="Latn", source_text="Le marché ouvre demain.", text="ssuq ad yirin.",
        dialect="tzm", variety="tzm", bundle_sha256="ab" * 32,
    )  # fmt: skip
    phrase = Item(
        origin="phrasebook", direction="en_Latn->zgh_Tfng", source_language="en", source_script="Latn",
        target_language="zgh", target_script="Tfng", source_text="Call an ambulance!", text="ⵖⵔ ⵉ ⵜⵎⵓⴱⵉⵍⵜ!",
        variety="zgh", domain="emergency", phrase_set="emergency", phrase_id="em-9",
    )  # fmt: skip
    store.add_items([water, door, tzm, phrase])
    a = store.reviewer_by_token(store.add_reviewer("Itto"))[0]
    b = store.reviewer_by_token(store.add_reviewer("Yuba"))[0]
    fixed = "ⵙⵙⵓⵔⴼ ⴰⵎⴰⵏ ⵇⴱⵍ ⴰⴷ ⵜⵙⵡⵉⴷ."
    judge(store, water, a, 2, 3, ["omission"], fixed)
    judge(store, water, b, 2, 4, ["omission"], fixed)
    judge(store, door, a, 5, 4)
    judge(store, door, b, 4, 3, [], "ⵔⴳⵍ ⵜⴰⵡⵓⵔⵜ, ⵜⵜⵅⵉⵍ.")
    judge(store, tzm, a, 1, 2, ["mistranslation"])  # tagged, not corrected: no row
    judge(store, phrase, a, 5, 5)
    judge(store, phrase, b, 4, 5)


def test_export_writes_corrections_and_approvals_with_provenance(store, tmp_path):
    reviewed_store(store)
    summary = export(store, tmp_path / "out" / "review.csv")
    assert (summary.corrections, summary.approvals) == (2, 2)
    with summary.path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        assert tuple(reader.fieldnames) == COLUMNS
        rows = list(reader)
    water = next(r for r in rows if r["source_text"].startswith("Boil"))
    assert (
        water["status"] == "corrected"
        and water["reviewers"] == "Itto;Yuba"
        and water["reviewer_count"] == "2"
    )
    assert (water["source_language"], water["target_language"], water["domain"]) == (
        "en_Latn",
        "zgh_Tfng",
        "health",
    )
    assert (
        water["model_text"] == "ⵙⵙ ⴰⵎⴰⵏ."
        and water["bundle_sha256"] == "ab" * 32
        and water["validation"] == ""
    )
    assert len(water["reviewed"]) == 10  # the date
    door = [r for r in rows if r["source_text"].startswith("Close")]
    assert [(r["status"], r["reviewers"]) for r in door] == [("approved", "Itto"), ("corrected", "Yuba")]
    assert door[0]["group"] == door[1]["group"] and door[0]["id"] != door[1]["id"]
    [phrase] = [r for r in rows if r["origin"] == "phrasebook"]
    assert phrase["validation"] == "validated by 2 reviewers" and phrase["phrase_id"] == "em-9"
    assert not any(r["source_text"].startswith("Le marché") for r in rows)


def test_tmz_data_prepares_the_export(store, tmp_path):
    from tmz.data import prepare

    reviewed_store(store)
    corpus = export(store, tmp_path / "review.csv").path
    out = tmp_path / "dataset"
    manifest = prepare([corpus], out, progress=False)
    assert (out / REJECTS_FILE).read_text(encoding="utf-8") == "", "tmz-data rejected exported rows"
    examples = [ex for split in SPLITS for ex in read_split(out, split)]
    targets = {ex.target_text for ex in examples if ex.source_language == "en" and ex.target_script == "Tfng"}
    assert {"ⵙⵙⵓⵔⴼ ⴰⵎⴰⵏ ⵇⴱⵍ ⴰⴷ ⵜⵙⵡⵉⴷ.", "ⵖⵔ ⵉ ⵜⵎⵓⴱⵉⵍⵜ!", "ⵔⴳⵍ ⵜⴰⵡⵓⵔⵜ, ⵜⵜⵅⵉⵍ."} <= targets
    assert (manifest.results.rows.read, manifest.results.rows.rejected) == (4, 0)


def test_an_empty_review_exports_a_header(store, tmp_path):
    summary = export(store, tmp_path / "review.csv")
    assert summary.path.read_text(encoding="utf-8").strip() == ",".join(COLUMNS)
