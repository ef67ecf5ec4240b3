"""Hostile or careless input to `prepare`: nothing of the user's is deleted, nothing outside the corpus is read,
no traceback; every refusal names the file and what to do."""

from __future__ import annotations

import json
import struct
import zlib

import pytest
from click.testing import CliRunner
from PIL import Image, ImageFile

from tmz.core.cli import cli
from tmz.core.errors import DataError, OutputError
from tmz.data import prepare

from .conftest import all_rows, read_jsonl

WIDE = "en,fr\nHello,Bonjour\nThank you,Merci\nWater,Eau\n"


@pytest.fixture
def good(tmp_path):
    p = tmp_path / "good.csv"
    p.write_text(WIDE, encoding="utf-8")
    return p


def tree(path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


# -- --out: replace only what tmz made, never an input -------------------------------------------------------------
def test_out_holding_other_files_is_refused_and_kept(good, tmp_path):
    important = tmp_path / "important"
    important.mkdir()
    (important / "notes.txt").write_text("mine", encoding="utf-8")
    r = CliRunner().invoke(cli, ["data", "prepare", str(good), "--out", str(important), "-q"])
    assert r.exit_code == 1 and "Traceback" not in r.output
    flat = " ".join(r.output.split())
    assert "important: holds notes.txt and no tmz manifest" in flat and "--overwrite" in flat, flat
    assert tree(important) == {"notes.txt": b"mine"}
    r = CliRunner().invoke(cli, ["data", "prepare", str(good), "--out", str(important), "-q", "--overwrite"])
    assert r.exit_code == 0, r.output
    assert "notes.txt" not in tree(important) and (important / "tmz-manifest.json").is_file()


def test_a_dataset_tmz_wrote_is_replaced_on_a_rerun(good, tmp_path):
    out = tmp_path / "data"
    prepare(good, out, progress=False)
    (out / "hf" / "train" / "cache-0123.arrow").write_bytes(b"a datasets cache")  # left by a reader
    prepare(good, out, progress=False, seed=1)
    assert "hf/train/cache-0123.arrow" not in tree(out)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


@pytest.mark.parametrize(
    "where", ["corpus", "corpus/data", "."], ids=["the corpus", "inside it", "its parent"]
)
def test_out_overlapping_an_input_is_refused_even_with_overwrite(tmp_path, where):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "seed_eng_Latn").write_text("Hello\nWater\n", encoding="utf-8")
    (corpus / "seed_fra_Latn").write_text("Bonjour\nEau\n", encoding="utf-8")
    before = tree(tmp_path)
    for extra in ([], ["--overwrite"]):
        r = CliRunner().invoke(
            cli, ["data", "prepare", str(corpus), "--out", str(tmp_path / where), "-q", *extra]
        )
        assert r.exit_code == 1, r.output
        flat = " ".join(r.output.split())
        assert "the input" in flat and "--overwrite does not change this" in flat, flat
    assert tree(tmp_path) == before


def test_out_that_is_the_folder_of_an_input_file_is_refused(good, tmp_path):
    with pytest.raises(OutputError, match=r"the output holds the input .*good.csv"):
        prepare(good, tmp_path, progress=False, overwrite=True)
    assert good.read_text(encoding="utf-8") == WIDE


def test_out_that_is_a_symbolic_link_is_refused_and_its_target_kept(good, tmp_path):
    target = tmp_path / "target"
    target.mkdir()
    (target / "notes.txt").write_text("mine", encoding="utf-8")
    (tmp_path / "link").symlink_to(target)
    with pytest.raises(OutputError, match="is a symbolic link"):
        prepare(good, tmp_path / "link", progress=False)
    (tmp_path / "to-input").symlink_to(good)
    with pytest.raises(OutputError, match="the output is the input"):
        prepare(good, tmp_path / "to-input", progress=False, overwrite=True)
    prepare(good, tmp_path / "link", progress=False, overwrite=True)  # the link is replaced, not its target
    assert tree(target) == {"notes.txt": b"mine"} and not (tmp_path / "link").is_symlink()


# -- every row rejected: a named error, counts, and the rejects kept beside --out ----------------------------------
@pytest.mark.parametrize(
    ("content", "options", "code"),
    [
        (b"source_language,target_language,source_text,target_text\nKlingon,French,Qapla',Bravo\n", {}, "unknown_language"),
        (b"en,fr\nCaf\xe9,Caf\xe9 cr\xe8me\nTh\xe9,Th\xe9 vert\n", {}, "invalid_utf8"),
        (WIDE.encode(), {"directions": ["en_Latn->zgh_Tfng"]}, "unsupported_direction"),
    ],
    ids=["unknown language", "latin-1 rows", "--direction matching nothing"],
)  # fmt: skip
def test_no_row_accepted_is_a_named_error_and_the_rejects_are_kept(tmp_path, content, options, code):
    src = tmp_path / "c.csv"
    src.write_bytes(content)
    n = content.count(b"\n") - 1
    with pytest.raises(DataError) as err:
        prepare(src, tmp_path / "data", progress=False, **options)
    kept = tmp_path / "data.rejects.jsonl"
    message = str(err.value)
    assert f"no row was accepted ({n} read, 0 accepted, {n} rejected: {{'{code}': {n}}})" in message
    assert f"no dataset was written; every rejected row and its reason is in {kept}" in message
    assert [r["code"] for r in read_jsonl(kept)] == [code] * n
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.csv", "data.rejects.jsonl"]


def test_rejects_are_never_kept_over_a_file_of_the_users(tmp_path):
    src = tmp_path / "c.csv"
    src.write_text("source_language,target_language,source_text,target_text\nKlingon,French,Qapla',Bravo\n")
    (tmp_path / "data.rejects.jsonl").write_text("my notes\n", encoding="utf-8")
    with pytest.raises(
        DataError, match="the rejected rows were not kept: .*data.rejects.jsonl holds something else"
    ):
        prepare(src, tmp_path / "data", progress=False)
    assert (tmp_path / "data.rejects.jsonl").read_text(encoding="utf-8") == "my notes\n"


# -- encodings ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "content", "why"),
    [
        ("u16.csv", WIDE.encode("utf-16"), "it starts with a UTF-16 byte-order mark"),
        ("u16le.tsv", WIDE.replace(",", "\t").encode("utf-16-le"), "it holds NUL bytes"),
        (
            "u16.jsonl",
            '{"en": "Hello", "fr": "Bonjour"}\n'.encode("utf-16"),
            "it starts with a UTF-16 byte-order mark",
        ),
        ("latin1.csv", "français,en\ncafé,coffee\n".encode("latin-1"), "byte 0xe7 of its header line"),
        ("garbage.csv", bytes(range(128, 256)) * 40, "byte 0x80 of its header line"),
    ],
    ids=["utf-16 csv", "utf-16 without BOM", "utf-16 jsonl", "latin-1 header", "garbage"],
)
def test_text_that_is_not_utf8_is_named_so(tmp_path, name, content, why):
    p = tmp_path / name
    p.write_bytes(content)
    with pytest.raises(DataError, match=rf"{name}: not UTF-8: {why}.*save the file as UTF-8") as err:
        prepare(p, tmp_path / "out", progress=False)
    assert "column" not in str(err.value)
    assert not (tmp_path / "out").exists()


# -- ids ---------------------------------------------------------------------------------------------------------------
def test_an_id_used_twice_rejects_the_second_row_only(run, tmp_path):
    p = tmp_path / "ids.csv"
    p.write_text(
        "id,en,fr\na,Hello,Bonjour\na,Water,Eau\nb,Water,Eau\n,Thank you,Merci\nids.csv:4,Yes,Oui\n"
    )  # row 4 has no id: it is ids.csv:4
    manifest, out = run(p)
    rejects = read_jsonl(out / "rejects.jsonl")
    assert [(r["line"], r["code"]) for r in rejects] == [(3, "duplicate_id"), (6, "duplicate_id")]
    assert "already the id of" in rejects[0]["reason"] and rejects[0]["reason"].endswith(
        "ids.csv:2; give every row its own id"
    )
    # line 4 holds the texts of the rejected line 3: it is kept, not taken for a duplicate of a rejected row
    rows = [r for split in all_rows(out).values() for r in split]
    assert sorted({r["id"].split("|")[0] for r in rows}) == ["a", "b", "ids.csv:4"]
    assert len({r["id"] for r in rows}) == len(rows)
    assert manifest.results.rows.rejected_by_reason == {"duplicate_id": 2}


def test_files_of_one_name_in_two_folders_get_distinct_ids(run, tmp_path):
    for folder, (en, fr) in (("a", ("Hello", "Bonjour")), ("b", ("Water", "Eau"))):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "x.csv").write_text(f"en,fr\n{en},{fr}\n", encoding="utf-8")
    _, out = run([tmp_path / "a" / "x.csv", tmp_path / "b" / "x.csv"])
    ids = sorted(r["id"] for split in all_rows(out).values() for r in split)
    assert ids == [f"{f}/x.csv:1|{d}" for f in "ab" for d in ("en_Latn->fr_Latn", "fr_Latn->en_Latn")]
    _, single = run(tmp_path / "a" / "x.csv")  # a single source keeps the plain file name
    assert {r["id"] for split in all_rows(single).values() for r in split} == {
        "x.csv:1|en_Latn->fr_Latn", "x.csv:1|fr_Latn->en_Latn"
    }  # fmt: skip


def test_two_columns_of_one_language_would_give_one_id_twice_and_are_refused(run, tmp_path):
    p = tmp_path / "twice.csv"
    p.write_text("en,English,fr\nHello,Hi,Bonjour\n", encoding="utf-8")
    with pytest.raises(DataError, match="columns 'en' and 'English' both name en; .*merge or drop one"):
        prepare(p, tmp_path / "out", progress=False)
    p = tmp_path / "scripts.csv"  # zgh's script is read from each text: Tifinagh here, like zgh_Tfng's
    p.write_text("en,zgh,zgh_Tfng\nHello,\u2d30\u2d63\u2d53\u2d4d,\u2d30\u2d63\u2d53\u2d4d \u2d3c\u2d4d\u2d4d\u2d30\u2d3d\n"
                 "Water,aman,\u2d30\u2d4e\u2d30\u2d4f\n", encoding="utf-8")  # fmt: skip
    _, out = run(p)
    [reject] = read_jsonl(out / "rejects.jsonl")
    assert (reject["line"], reject["code"]) == (2, "duplicate_language") and "second zgh_Tfng text" in reject[
        "reason"
    ]
    rows = [r for split in all_rows(out).values() for r in split]
    assert len({r["id"] for r in rows}) == len(rows) == 4


# -- images: bounded before decoding, and only from the corpus folder --------------------------------------------------
def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(path, side: int = 13_000) -> None:
    """A valid 1-bit PNG of side x side pixels, all black: a few KB on disk."""
    rows = (b"\0" + b"\0" * ((side + 7) // 8)) * side
    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    data = zlib.compress(rows, 9)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", data) + _chunk(b"IEND", b"")
    )


def jpeg_bomb(path, side: int = 60_000) -> None:
    """A small JPEG whose frame header claims side x side pixels."""
    Image.new("RGB", (64, 64), (200, 30, 30)).save(path, format="JPEG")
    data = bytearray(path.read_bytes())
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", side, side)
    path.write_bytes(bytes(data))


def image_rows(tmp_path, images: list[str]):
    corpus = tmp_path / "corpus"
    corpus.mkdir(exist_ok=True)
    p = corpus / "images.jsonl"
    p.write_text("".join(json.dumps({"image": i, "target_language": "French", "target_text": f"Sortie {n}"}) + "\n"
                         for n, i in enumerate(images)), encoding="utf-8")  # fmt: skip
    return corpus, p


def test_huge_images_are_rejected_from_their_header_without_decoding(run, tmp_path, monkeypatch):
    corpus, p = image_rows(tmp_path, ["bomb.png", "bomb.jpg", "small-limit.png"])
    png_bomb(corpus / "bomb.png")
    jpeg_bomb(corpus / "bomb.jpg")
    Image.new("RGB", (100, 100)).save(corpus / "small-limit.png")
    assert (corpus / "bomb.png").stat().st_size < 100_000

    def never(self):
        raise AssertionError(f"{self.filename} was decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", never)
    with pytest.raises(DataError, match="no row was accepted") as err:
        run(p, max_image_pixels=5_000)
    assert "image_too_large" in str(err.value)
    rejects = read_jsonl(tmp_path / "out0.rejects.jsonl")
    assert [r["code"] for r in rejects] == ["image_too_large"] * 3
    assert "13000x13000 pixels, over max_image_pixels=5000" in rejects[0]["reason"]
    assert "Image size (3600000000 pixels)" in rejects[1]["reason"] and "100x100" in rejects[2]["reason"]


def test_the_default_pixel_limit_rejects_the_bomb_and_keeps_ordinary_images(run, tmp_path):
    corpus, p = image_rows(tmp_path, ["bomb.png", "ok.png"])
    png_bomb(corpus / "bomb.png")
    Image.new("RGB", (64, 48), (10, 120, 200)).save(corpus / "ok.png")
    manifest, out = run(p, test_ratio=0.0, validation_ratio=0.0)
    assert [r["code"] for r in read_jsonl(out / "rejects.jsonl")] == ["image_too_large"]
    assert manifest.settings.max_image_pixels == 40_000_000 and manifest.results.rows.accepted == 1


def test_images_outside_the_corpus_folder_are_rejected(run, tmp_path):
    outside = tmp_path / "secret.png"
    Image.new("RGB", (64, 64), (1, 2, 3)).save(outside)
    corpus, p = image_rows(tmp_path, [str(outside), "../secret.png", "link.png", "sub/../ok.png", "ok.png"])
    (corpus / "link.png").symlink_to(outside)
    (corpus / "sub").mkdir()
    Image.new("RGB", (64, 64), (9, 9, 9)).save(corpus / "ok.png")
    manifest, out = run(p, test_ratio=0.0, validation_ratio=0.0)
    rejects = read_jsonl(out / "rejects.jsonl")
    assert [(r["line"], r["code"]) for r in rejects] == [(n, "image_outside_corpus") for n in (1, 2, 3, 4)]
    assert (
        "lies outside the corpus folder" in rejects[0]["reason"]
        and "copy the image there" in rejects[0]["reason"]
    )
    [kept] = [f.path for f in manifest.files if f.path.startswith("images/")]
    with Image.open(out / kept) as im:
        assert im.getpixel((0, 0)) == (9, 9, 9)
