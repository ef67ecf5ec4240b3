"""The dataset contract's finer points (docs/contracts.md, packages/tmz-data/README.md), each as written there."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from datasets import load_from_disk
from PIL import Image

from tmz.core.dataset import SPLITS, read_split

from .conftest import read_jsonl

LONG = ["source_language", "target_language", "source_text", "target_text"]
ROWS = [
    ["English", "zgh_Tfng", "Where is the hospital?", "ⵎⴰⵏⵉ ⴳ ⵉⵍⵍⴰ ⵓⵙⴱⵉⵜⴰⵔ?"],
    ["Klingon", "English", "Qapla'", "Success"],  # record 2: rejected
    ["English", "French", "Good night", "Bonne nuit"],
]


def _jsonl(path, rows: list[dict]):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.mark.parametrize("suffix", [".parquet", ".json", ".csv"])
def test_rejects_give_the_line_only_where_the_file_has_lines(run, tmp_path, suffix):
    """`line` is the first physical line of the row, null for parquet and json arrays; `row` is always the
    1-based record number."""
    p = tmp_path / f"c{suffix}"
    if suffix == ".parquet":
        pq.write_table(pa.table({k: [r[i] for r in ROWS] for i, k in enumerate(LONG)}), p)
    elif suffix == ".json":  # an array, pretty-printed: its records do have lines, which are not counted
        p.write_text(json.dumps([dict(zip(LONG, r, strict=True)) for r in ROWS], indent=2), encoding="utf-8")
    else:
        p.write_text("\n".join(",".join(r) for r in [LONG, *ROWS]) + "\n", encoding="utf-8")
    manifest, out = run(p)
    [reject] = read_jsonl(out / "rejects.jsonl")
    assert reject["code"] == "unknown_language" and reject["row"] == 2
    assert reject["line"] == (3 if suffix == ".csv" else None)
    assert manifest.results.rows.accepted == 2


def test_image_rows_of_unknown_text_are_und_zyyy_and_hf_holds_a_null_text_part(run, tmp_path):
    """An image whose text language is not given is `und`/`Zyyy` and its prompt names no source language; in
    `hf/` the image part is `{"type": "image", "text": null}`, in `jsonl/` it has no `text`. `image_path` is
    accepted for `image`."""
    Image.new("RGB", (64, 48), (10, 120, 200)).save(tmp_path / "sign.png")
    Image.new("RGB", (64, 48), (200, 40, 10)).save(tmp_path / "exit.png")
    paths = _jsonl(tmp_path / "paths.jsonl", [{"image_path": "sign.png", "target_language": "French",
                                               "target_text": "Sortie"}])  # fmt: skip
    named = _jsonl(tmp_path / "images.jsonl", [{"image": "exit.png", "source_language": "English",
                                                "source_text": "EXIT", "target_language": "zgh_Tfng",
                                                "target_text": "ⴰⴼⴼⵓⵖ"}])  # fmt: skip
    manifest, out = run([paths, named], test_ratio=0.0, validation_ratio=0.0)
    assert manifest.results.rows.accepted == 2 and manifest.results.rows.rejected == 0
    rows = {r["target_text"]: r for r in read_jsonl(out / "jsonl" / "train.jsonl")}
    unknown, known = rows["Sortie"], rows["ⴰⴼⴼⵓⵖ"]
    assert (unknown["source_language"], unknown["source_script"]) == ("und", "Zyyy")
    assert unknown["direction"] == "und_Zyyy->fr_Latn" and unknown["source_text"] is None
    assert unknown["image"] and (out / unknown["image"]).is_file()  # the image_path row kept its image
    user = unknown["messages"][0]["content"]
    assert user[0] == {"type": "image"} and user[1]["text"] == "Translate the text in this image to French."
    assert known["messages"][0]["content"][1]["text"].startswith("Translate the English text in this image")
    hf = load_from_disk(str(out / "hf"))["train"]
    parts = {row["target_text"]: row["messages"][0]["content"] for row in hf}
    assert parts["Sortie"][0] == {"type": "image", "text": None}
    assert parts["Sortie"][1]["type"] == "text" and parts["Sortie"][1]["text"] == user[1]["text"]


def test_one_jsonl_file_may_key_its_images_either_way(run, tmp_path):
    """JSON rows carry their own keys: in one file, a row keyed `image` and a row keyed `image_path` both keep
    their image (the alias is read where the canonical field is absent), and a row with neither is rejected."""
    Image.new("RGB", (64, 48), (10, 120, 200)).save(tmp_path / "a.png")
    Image.new("RGB", (64, 48), (200, 40, 10)).save(tmp_path / "b.png")
    mixed = _jsonl(tmp_path / "mixed.jsonl", [
        {"image": "a.png", "target_language": "French", "target_text": "Sortie"},
        {"image_path": "b.png", "target_language": "French", "target_text": "Entrée"},
        {"target_language": "French", "target_text": "Fermé"},
    ])  # fmt: skip
    manifest, out = run([mixed], test_ratio=0.0, validation_ratio=0.0)
    assert manifest.results.rows.accepted == 2 and manifest.results.rows.rejected == 1
    [reject] = read_jsonl(out / "rejects.jsonl")
    assert (reject["row"], reject["code"]) == (3, "missing_field")
    assert "image column is empty" in reject["reason"]
    rows = {r["target_text"]: r for r in read_jsonl(out / "jsonl" / "train.jsonl")}
    assert set(rows) == {"Sortie", "Entrée"}
    assert all((out / r["image"]).is_file() for r in rows.values())
    assert rows["Sortie"]["image"] != rows["Entrée"]["image"]


def test_empty_splits_are_written_and_read_back_empty(run, tmp_path):
    """All three splits always exist, possibly empty: in jsonl/, in hf/ and for the core reader."""
    p = tmp_path / "c.csv"
    p.write_text("en,fr\nHello,Bonjour\n", encoding="utf-8")
    manifest, out = run(p, test_ratio=0.0, validation_ratio=0.0)
    assert manifest.results.examples.by_split["train"] == manifest.results.examples.total == 2
    for split in ("validation", "test"):
        assert (out / "jsonl" / f"{split}.jsonl").read_text(encoding="utf-8") == ""
        assert read_split(out, split) == []
    hf = load_from_disk(str(out / "hf"))
    assert set(hf) == set(SPLITS) and hf["test"].num_rows == hf["validation"].num_rows == 0
    assert hf["test"].features == hf["train"].features


def test_a_python_mapping_of_language_tags_to_files_is_a_line_aligned_source(run, tmp_path):
    """`{"en_Latn": path, "zgh_Tfng": path}` in Python: line n of each file is one row."""
    (tmp_path / "a.txt").write_text("Hello\nThank you\n", encoding="utf-8")
    (tmp_path / "b.txt").write_text("ⴰⵣⵓⵍ\nⵜⴰⵏⵎⵎⵉⵔⵜ\n", encoding="utf-8")
    manifest, out = run({"en_Latn": tmp_path / "a.txt", "zgh_Tfng": tmp_path / "b.txt"},
                        test_ratio=0.0, validation_ratio=0.0)  # fmt: skip
    assert manifest.results.rows.read == manifest.results.rows.accepted == 2
    pairs = {(r.direction, r.source_text, r.target_text) for r in read_split(out, "train")}
    assert pairs == {
        ("en_Latn->zgh_Tfng", "Hello", "ⴰⵣⵓⵍ"), ("zgh_Tfng->en_Latn", "ⴰⵣⵓⵍ", "Hello"),
        ("en_Latn->zgh_Tfng", "Thank you", "ⵜⴰⵏⵎⵎⵉⵔⵜ"), ("zgh_Tfng->en_Latn", "ⵜⴰⵏⵎⵎⵉⵔⵜ", "Thank you"),
    }  # fmt: skip


def test_foreign_letters_are_tolerated_up_to_max_foreign_share(run, tmp_path):
    """Up to `max_foreign_share` (25%) of a text's letters may be of another script (a name); beyond, or with a
    lower setting, the row is rejected as wrong_script."""
    p = tmp_path / "c.csv"
    p.write_text(
        "source_language,target_language,source_text,target_text\n"
        "English,zgh_Tfng,Ali is here,ⴰⵍⵉ ⵢⵍⵍⴰ ⵖⵉ Ali\n"  # 3 Latin of 12 letters: 25%, kept
        "English,zgh_Tfng,Omar is here,ⵓⵎⴰⵔ ⵢⵍⵍⴰ ⵖ Omar\n"  # 4 of 13: 31%, rejected
        "English,zgh_Tfng,Good morning,ⵜⵉⴼⴰⵡⵉⵏ\n",
        encoding="utf-8",
    )
    manifest, out = run(p)
    [reject] = read_jsonl(out / "rejects.jsonl")
    assert (reject["row"], reject["code"]) == (2, "wrong_script")
    assert "4 of 13 letters" in reject["reason"] and "at most 25% is tolerated" in reject["reason"]
    stricter, out = run(p, max_foreign_share=0.2)
    assert manifest.results.rows.accepted == 2 and stricter.results.rows.accepted == 1
    assert [r["row"] for r in read_jsonl(out / "rejects.jsonl")] == [1, 2]


def test_too_short_texts_are_rejected(run, tmp_path):
    p = tmp_path / "c.csv"
    p.write_text("en,fr\nYes,Oui\nNo,Non\n", encoding="utf-8")
    manifest, out = run(p, min_chars=3)
    [reject] = read_jsonl(out / "rejects.jsonl")
    assert (reject["row"], reject["code"]) == (2, "too_short")
    assert "has 2 characters, under min_chars=3" in reject["reason"]
    assert manifest.results.rows.accepted == 1


def test_a_pair_given_again_in_the_reverse_direction_is_a_duplicate(run, tmp_path):
    p = tmp_path / "c.csv"
    p.write_text(
        "source_language,target_language,source_text,target_text\n"
        "English,zgh_Tfng,Good morning,ⵜⵉⴼⴰⵡⵉⵏ\n"
        "zgh_Tfng,English,ⵜⵉⴼⴰⵡⵉⵏ,Good morning\n",
        encoding="utf-8",
    )
    manifest, out = run(p)
    [reject] = read_jsonl(out / "rejects.jsonl")
    assert (reject["row"], reject["code"]) == (2, "duplicate") and "c.csv:2" in reject["reason"]
    assert manifest.results.examples.total == 2  # the one pair, both directions


def test_a_twin_that_fails_the_checks_is_skipped_and_counted(run, tmp_path):
    """`transliterate=True`: a Latin text with a letter outside the IRCAM table (o) gets no Tifinagh twin
    rather than a wrong one; the manifest counts it in `twins_skipped`."""
    p = tmp_path / "c.csv"
    p.write_text("en,zgh_Latn\nThe radio,radyo\nWater,aman\n", encoding="utf-8")
    manifest, out = run(p, transliterate=True, test_ratio=0.0, validation_ratio=0.0)
    rows = read_split(out, "train")
    twins = {(r.source_text, r.target_text) for r in rows if r.derived}
    assert twins == {("Water", "ⴰⵎⴰⵏ"), ("ⴰⵎⴰⵏ", "Water")}
    assert manifest.results.examples.twins_skipped == 1 and manifest.results.examples.derived == 2
    assert not any("ⵔⴰⴷⵢ" in (r.source_text or "") + r.target_text for r in rows)


def test_foreign_letters_seen_before_are_counted_again(run, tmp_path):
    """The script check skips a text only when every character was seen before as neutral or of its script: a
    tolerated name's letters stay foreign, so a later text made mostly of them is still rejected."""
    p = tmp_path / "c.csv"
    p.write_text(
        "source_language,target_language,source_text,target_text\n"
        "English,zgh_Tfng,Ali is here,ⴰⵍⵉ ⵢⵍⵍⴰ ⵖⵉ Ali\n"  # 3 Latin of 12 letters: kept
        "English,zgh_Tfng,Good morning,ⵜⵉⴼⴰⵡⵉⵏ\n"
        "English,zgh_Tfng,Ali and Ali,ⴰⵍⵉ Ali Ali\n",  # only letters seen above, 6 Latin of 9: rejected
        encoding="utf-8",
    )
    manifest, out = run(p)
    [reject] = read_jsonl(out / "rejects.jsonl")
    assert (reject["row"], reject["code"]) == (3, "wrong_script") and "6 of 9 letters" in reject["reason"]
    assert manifest.results.rows.accepted == 2
