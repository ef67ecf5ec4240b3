"""Every kind of bad input: a named error when a file cannot be read, a reject reason for a bad row."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from tmz.core.errors import ConfigError, DataError
from tmz.core.kinds.dataset import RowCounts
from tmz.data import prepare

from .conftest import read_jsonl

GOOD = ("English", "Tamazight (Tifinagh)", "Where is the hospital?", "ⵎⴰⵏⵉ ⴳ ⵉⵍⵍⴰ ⵓⵙⴱⵉⵜⴰⵔ?")
HEADER = "source_language,target_language,source_text,target_text,dialect"


@pytest.fixture(scope="module")
def bad_rows(tmp_path_factory):
    """One long csv holding a good row and one row of each kind of bad row, prepared once."""
    d = tmp_path_factory.mktemp("bad")
    huge = "a" * 100_000
    lines = [
        HEADER,
        ",".join(GOOD) + ",",  # 2: good
        "Klingon,English,Qapla',Success,",  # 3: unknown language
        "English,zgh_Tfng,Water,aman,",  # 4: Latin letters in a Tifinagh field
        "Français,English,مرحبا بكم,Welcome,",  # 5: Arabic letters in a French field
        f"English,French,{huge},Bonjour,",  # 6: huge field
        "English,zgh_Tfng,Thank you,,",  # 7: empty target
        "English,French,Taxi,Taxi,",  # 8: identical source and target
        "English,Tamazight,Hello,ⴰⵣⵓⵍ,shi",  # 9: dialect not registered
        "English,French,Yes,Oui,,extra",  # 10: ragged row
        "English,French,Good morning to all of you my friends,Oui,",  # 11: length ratio
        ",".join(GOOD) + ",",  # 12: exact duplicate of line 2
        "English,Tamazight (Tifinagh),Where  is the hospital?,ⵎⴰⵏⵉ ⴳ ⵉⵍⵍⴰ\u200b ⵓⵙⴱⵉⵜⴰⵔ?,",  # 13: duplicate after normalisation
        "tzm-Latn,English,Tanmmirt,Thank you,",  # 14: good (tzm)
    ]
    raw = ("\n".join(lines) + "\n").encode("utf-8")
    raw += b"English,French,Caf\xe9,Caf\xc3\xa9 cr\xc3\xa8me,\n"  # 15: invalid UTF-8 (latin-1 byte)
    path = d / "long.csv"
    path.write_bytes(raw)
    out = d / "out"
    manifest = prepare(path, out, progress=False)
    return manifest, {r["line"]: r for r in read_jsonl(out / "rejects.jsonl")}


@pytest.mark.parametrize(
    ("line", "code", "words"),
    [
        (3, "unknown_language", ["unknown language 'Klingon'", "English", "Français", "tags like zgh_Tfng"]),
        (4, "wrong_script", ["target_text", "declared script Tfng", "Latn"]),
        (5, "wrong_script", ["source_text", "declared script Latn", "Arab"]),
        (6, "too_long", ["source_text has 100000 characters", "max_chars=2000"]),
        (7, "empty", ["target_text is empty"]),
        (8, "identical", ["identical"]),
        (9, "unknown_dialect", ["unknown dialect 'shi'", "is its plugin installed?"]),
        (10, "ragged_row", ["6 fields where the header has 5"]),
        (11, "length_ratio", ["max_length_ratio=3.0"]),
        (12, "duplicate", ["duplicate of", "long.csv:2"]),
        (13, "duplicate_normalised", ["after normalisation", "long.csv:2"]),
        (15, "invalid_utf8", ["invalid UTF-8 (byte 0xe9)", "source_text"]),
    ],
)
def test_bad_row_is_rejected_with_its_reason(bad_rows, line, code, words):
    _, rejects = bad_rows
    assert rejects[line]["code"] == code
    assert rejects[line]["file"].endswith("long.csv") and rejects[line]["row"] == line - 1
    for w in words:
        assert w in rejects[line]["reason"]


def test_rows_in_equals_accepted_plus_rejected(bad_rows):
    manifest, rejects = bad_rows
    rows = manifest.results.rows
    assert rows.read == 14 and rows.accepted == 2
    assert rows.accepted + rows.rejected == rows.read
    assert rows.rejected == len(rejects) == sum(rows.rejected_by_reason.values())
    assert set(rejects) == {3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 15}


def test_missing_columns_name_what_is_missing(tmp_path):
    p = tmp_path / "c.csv"
    p.write_text("source_language,target_language,source_text\nEnglish,French,Hello\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"missing column\(s\) \['target_text'\].*--column target_text="):
        prepare(p, tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()


def test_unknown_language_column_lists_accepted_names(tmp_path):
    p = tmp_path / "w.csv"
    p.write_text("en,klingon\nHello,nuqneH\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"column 'klingon'.*unknown language 'klingon'; accepted:.*English"):
        prepare(p, tmp_path / "out", progress=False)


def test_mapping_to_an_absent_column_is_an_error(tmp_path):
    p = tmp_path / "c.csv"
    p.write_text("en,fr\nHello,Bonjour\n", encoding="utf-8")
    with pytest.raises(DataError, match="mapping source_text=src names a column that is not there"):
        prepare(p, tmp_path / "out", progress=False, columns={"source_text": "src"})
    with pytest.raises(ConfigError, match="unknown field"):
        prepare(p, tmp_path / "out", progress=False, columns={"text": "src"})


@pytest.mark.parametrize(
    ("name", "content", "match"),
    [
        ("empty.csv", b"", "the file is empty"),
        ("header.csv", b"en,fr\n", "the header has no rows"),
        ("empty.jsonl", b"\n\n", "holds no JSON lines"),
        ("broken.json", b'[{"en": "Hello", "fr": "Bonjour"},\n {"en": ]', r"broken.json:2: invalid JSON"),
        ("object.json", b'{"en": "Hello"}', "must be an array of objects"),
        ("corpus.xlsx", b"PK", "unknown file type"),
        ("bad.parquet", b"not parquet", "not a readable parquet file"),
    ],
)
def test_unreadable_files_raise_data_error(tmp_path, name, content, match):
    p = tmp_path / name
    p.write_bytes(content)
    with pytest.raises(DataError, match=match):
        prepare(p, tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()


def test_broken_json_line_is_rejected_with_its_line(run, tmp_path):
    p = tmp_path / "c.jsonl"
    good = {"en": "Hello", "fr": "Bonjour"}
    p.write_text(
        json.dumps(good)
        + "\n"
        + '{"en": "Yes", "fr": \n'
        + "[1, 2]\n"
        + json.dumps({"en": "No", "fr": "Non"})
        + "\n",
        encoding="utf-8",
    )
    manifest, out = run(p)
    rejects = read_jsonl(out / "rejects.jsonl")
    assert [(r["line"], r["code"]) for r in rejects] == [(2, "invalid_json"), (3, "invalid_json")]
    assert "invalid JSON" in rejects[0]["reason"] and "must be an object" in rejects[1]["reason"]
    assert manifest.results.rows == RowCounts(
        read=4, accepted=2, rejected=2, rejected_by_reason={"invalid_json": 2}
    )  # fmt: skip


def test_ragged_line_aligned_files(tmp_path):
    d = tmp_path / "aligned"
    d.mkdir()
    (d / "c_eng_Latn").write_text("Hello\nYes\nNo\n", encoding="utf-8")
    (d / "c_zgh_Tfng").write_text("ⴰⵣⵓⵍ\nⵢⴰⵀ\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"differ in length.*3 lines.*2 lines"):
        prepare(d, tmp_path / "out", progress=False)


def test_invalid_utf8_in_line_aligned_file_is_rejected_with_line(run, tmp_path):
    d = tmp_path / "aligned"
    d.mkdir()
    (d / "c.en_Latn.txt").write_bytes(b"Hello\nCaf\xe9\nNo\n")
    (d / "c.fr_Latn.txt").write_text("Bonjour\nCafé\nNon\n", encoding="utf-8")
    (d / "README.md").write_text("ignored\n", encoding="utf-8")
    manifest, out = run(d)
    [reject] = read_jsonl(out / "rejects.jsonl")
    assert (reject["line"], reject["code"]) == (2, "invalid_utf8")
    assert manifest.results.rows.accepted == 2


def _png(path, size=(64, 48), colour=(10, 120, 200)):
    Image.new("RGB", size, colour).save(path)


def test_image_rows_missing_corrupt_small_and_good(run, tmp_path):
    _png(tmp_path / "good.png")
    _png(tmp_path / "small.png", size=(16, 16))
    (tmp_path / "corrupt.png").write_bytes((tmp_path / "good.png").read_bytes()[:60])
    (tmp_path / "text.png").write_text("not an image", encoding="utf-8")
    rows = [
        {"image": "good.png", "source_language": "English", "source_text": "EXIT", "target_language": "zgh_Tfng",
         "target_text": "ⴰⴼⴼⵓⵖ"},
        {"image": "missing.png", "target_language": "French", "target_text": "Sortie"},
        {"image": "corrupt.png", "target_language": "French", "target_text": "Sortie"},
        {"image": "text.png", "target_language": "French", "target_text": "Sortie"},
        {"image": "small.png", "target_language": "French", "target_text": "Sortie"},
    ]  # fmt: skip
    p = tmp_path / "images.jsonl"
    p.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    manifest, out = run(p, test_ratio=0.0, validation_ratio=0.0)
    rejects = {r["line"]: r for r in read_jsonl(out / "rejects.jsonl")}
    assert {k: v["code"] for k, v in rejects.items()} == {
        2: "image_missing", 3: "image_corrupt", 4: "image_corrupt", 5: "image_too_small"
    }  # fmt: skip
    assert "16x16" in rejects[5]["reason"] and "missing.png does not exist" in rejects[2]["reason"]
    [row] = read_jsonl(out / "jsonl" / "train.jsonl")
    assert row["direction"] == "en_Latn->zgh_Tfng" and row["source_text"] == "EXIT"
    assert row["messages"][0]["content"][0] == {"type": "image"}
    with Image.open(out / row["image"]) as im:
        assert im.mode == "RGB" and im.size == (64, 48) and im.getpixel((0, 0)) == (10, 120, 200)
    assert any(f.path == row["image"] for f in manifest.files)


def test_bad_options_are_config_errors(tmp_path):
    p = tmp_path / "c.csv"
    p.write_text("en,fr\nHello,Bonjour\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="validation_ratio \\+ test_ratio"):
        prepare(p, tmp_path / "o", validation_ratio=0.5, test_ratio=0.5)
    with pytest.raises(ConfigError, match="max_tokens needs a tokenizer"):
        prepare(p, tmp_path / "o", max_tokens=10)
    with pytest.raises(ConfigError, match="settings are the fields of PrepareOptions"):
        prepare(p, tmp_path / "o", bogus=1)
    with pytest.raises(ConfigError, match=r"validation_ratio must be in \[0, 1\), got 1.5"):
        prepare(p, tmp_path / "o", validation_ratio=1.5)
    with pytest.raises(ConfigError, match="seed: Input should be a valid integer.*'one'"):
        prepare(p, tmp_path / "o", seed="one")
    with pytest.raises(ConfigError, match="layout: Input should be 'auto', 'long', 'wide' or 'image'"):
        prepare(p, tmp_path / "o", layout="tall")
    assert not (tmp_path / "o").exists()
