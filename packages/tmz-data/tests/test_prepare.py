"""prepare(): the dataset contract, the input formats, expansion, dialects, twins and filters."""

from __future__ import annotations

import csv
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tmz.core.dataset import load_splits
from tmz.core.manifest import load_manifest, sha256_file
from tmz.core.plugins import get_registry
from tmz.core.prompt import PROMPT_FORMAT_ID, Side, messages

from .conftest import all_rows, read_jsonl

WIDE = [
    {"id": "r1", "domain": "emergency", "en": "Where is the hospital?", "fr": "Où est l'hôpital ?",
     "zgh_Tfng": "ⵎⴰⵏⵉ ⴳ ⵉⵍⵍⴰ ⵓⵙⴱⵉⵜⴰⵔ?"},
    {"id": "r2", "domain": "daily", "en": "Thank you.", "fr": "Merci.", "zgh_Tfng": "ⵜⴰⵏⵎⵎⵉⵔⵜ."},
    {"id": "r3", "domain": "daily", "en": "Water", "fr": "", "zgh_Tfng": "ⴰⵎⴰⵏ"},
]  # fmt: skip
CONTRACT = ["id", "group", "direction", "source_language", "source_script", "target_language", "target_script",
            "dialect", "domain", "source_text", "target_text", "image", "derived", "messages"]  # fmt: skip


def write_table(path, rows):
    fmt = path.suffix
    if fmt in (".csv", ".tsv"):
        with open(path, "w", newline="", encoding="utf-8") as f:
            names = list(dict.fromkeys(k for r in rows for k in r))
            w = csv.DictWriter(f, fieldnames=names, delimiter="\t" if fmt == ".tsv" else ",")
            w.writeheader()
            w.writerows(rows)
    elif fmt == ".json":
        path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    elif fmt == ".jsonl":
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    else:
        pq.write_table(pa.Table.from_pylist(rows), path)
    return path


@pytest.fixture(scope="module")
def wide_dataset(tmp_path_factory):
    from tmz.data import prepare

    d = tmp_path_factory.mktemp("wide")
    out = d / "out"
    return prepare(write_table(d / "p.csv", WIDE), out, progress=False, seed=3), out


def test_layout_and_manifest_follow_the_contract(wide_dataset):
    manifest, out = wide_dataset
    assert load_manifest(out, expect_kind="dataset") == manifest
    names = {f.path for f in manifest.files}
    assert {"rejects.jsonl", "hf/dataset_dict.json"} | {
        f"jsonl/{s}.jsonl" for s in ("train", "validation", "test")
    } <= names
    assert manifest.prompt_format == PROMPT_FORMAT_ID and manifest.producer.distribution == "tmz-data"
    assert manifest.languages == ["en", "fr", "zgh"] and manifest.dialects == ["zgh"]
    assert manifest.scripts == ["Latn", "Tfng"]
    [source] = manifest.settings.sources
    assert (source.layout, source.rows) == ("wide", 3)
    assert source.files[0].sha256 == sha256_file(source.files[0].path)
    assert load_manifest(out).settings == manifest.settings and manifest.settings.seed == 3
    assert not manifest.settings.memorised
    dd = load_splits(out)
    assert list(dd) == ["train", "validation", "test"]
    for ds in dd.values():
        assert ds.column_names == CONTRACT
    hf_rows = sorted((r for ds in dd.values() for r in ds), key=lambda r: r["id"])
    js_rows = sorted((r for rows in all_rows(out).values() for r in rows), key=lambda r: r["id"])
    assert [r["id"] for r in hf_rows] == [r["id"] for r in js_rows]
    assert [r["messages"] for r in hf_rows] == [r["messages"] for r in js_rows]


def test_every_pair_expands_to_both_directions_with_core_prompts(wide_dataset):
    manifest, out = wide_dataset
    rows = [r for rows in all_rows(out).values() for r in rows]
    # r1, r2: 3 languages -> 3 pairs -> 6 examples; r3: en + zgh -> 2 examples
    assert len(rows) == 14 == manifest.results.examples.total
    assert sorted(r["id"] for r in rows if r["id"].startswith("r3")) == [
        "r3|en_Latn->zgh_Tfng", "r3|zgh_Tfng->en_Latn"
    ]  # fmt: skip
    reg = get_registry()
    for r in rows:
        src = Side(
            r["source_language"], r["source_script"], r["dialect"] if r["source_language"] == "zgh" else None
        )
        tgt = Side(
            r["target_language"], r["target_script"], r["dialect"] if r["target_language"] == "zgh" else None
        )
        assert r["messages"] == messages(reg, src, tgt, r["source_text"], r["target_text"])
        assert r["direction"] == f"{src.language}_{src.script}->{tgt.language}_{tgt.script}"
        assert r["dialect"] == ("zgh" if "zgh" in r["direction"] else None)
        assert r["derived"] is False and r["image"] is None
    counts = manifest.results.examples
    assert counts.by_direction["en_Latn->zgh_Tfng"] == 3 and counts.by_domain == {
        "daily": 8,
        "emergency": 6,
    }
    assert sum(counts.by_split.values()) == 14
    splits = manifest.results.splits
    assert list(splits) == ["train", "validation", "test"]
    assert {k: v.examples for k, v in splits.items()} == counts.by_split
    assert {k: len(v) for k, v in all_rows(out).items()} == counts.by_split


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".json", ".jsonl", ".parquet"])
def test_every_format_gives_the_same_rows(run, tmp_path, wide_dataset, suffix):
    _, reference = wide_dataset
    _, out = run(write_table(tmp_path / f"p{suffix}", WIDE), seed=3)

    def key(rows):
        return sorted((r["id"], r["group"], r["target_text"]) for split in rows.values() for r in split)

    assert key(all_rows(out)) == key(all_rows(reference))


def test_long_layout_with_names_dialect_column_and_mapping(run, tmp_path):
    rows = [
        {
            "from": "English",
            "to": "Tamazight (Latin)",
            "src": "Thank you",
            "tgt": "Tanmmirt",
            "variety": "tzm",
        },
        {"from": "Français", "to": "ⵜⴰⵎⴰⵣⵉⵖⵜ", "src": "Merci", "tgt": "ⵜⴰⵏⵎⵎⵉⵔⵜ", "variety": ""},
        {"from": "العربية", "to": "tzm-Latn", "src": "شكرا", "tgt": "Tanmmirt", "variety": ""},
    ]
    mapping = {"source_language": "from", "target_language": "to", "source_text": "src", "target_text": "tgt",
               "dialect": "variety"}  # fmt: skip
    manifest, out = run(
        write_table(tmp_path / "l.csv", rows), columns=mapping, test_ratio=0, validation_ratio=0
    )
    got = {r["direction"]: r for r in read_jsonl(out / "jsonl" / "train.jsonl")}
    assert sorted(got) == sorted([
        "en_Latn->tzm_Latn", "tzm_Latn->en_Latn", "fr_Latn->zgh_Tfng", "zgh_Tfng->fr_Latn", "ar_Arab->tzm_Latn",
        "tzm_Latn->ar_Arab",
    ])  # fmt: skip
    assert got["en_Latn->tzm_Latn"]["dialect"] == "tzm"
    assert (
        "Central Atlas Tamazight (Latin script)"
        in got["en_Latn->tzm_Latn"]["messages"][0]["content"][0]["text"]
    )
    assert manifest.dialects == ["tzm", "zgh"]


def test_transliterated_twins_are_marked_derived(run, tmp_path):
    rows = [{"en": "Thank you", "zgh_Tfng": "ⵜⴰⵏⵎⵎⵉⵔⵜ"}, {"en": "The king", "zgh_Latn": "agʷellid"}]
    manifest, out = run(
        write_table(tmp_path / "t.csv", rows), transliterate=True, test_ratio=0, validation_ratio=0
    )
    got = {r["id"]: r for r in read_jsonl(out / "jsonl" / "train.jsonl")}
    assert got["t.csv:1|en_Latn->zgh_Latn"]["target_text"] == "tanmmirt"
    assert got["t.csv:1|en_Latn->zgh_Latn"]["derived"] is True
    assert got["t.csv:1|en_Latn->zgh_Tfng"]["derived"] is False
    assert got["t.csv:2|en_Latn->zgh_Tfng"]["target_text"] == "ⴰⴳⵯⴻⵍⵍⵉⴷ"
    assert len({r["group"] for r in got.values() if r["id"].startswith("t.csv:1")}) == 1
    assert manifest.results.examples.derived == 4
    assert manifest.settings.transliterate is True


def test_direction_filter_and_unsupported_pairs(run, tmp_path):
    rows = [
        {"zgh_Tfng": "ⴰⵣⵓⵍ", "tzm_Tfng": "ⴰⵣⵓⵍ ⴼⵍⵍⴰⴽ", "en": "Hello"},
        {"zgh_Tfng": "ⴰⵎⴰⵏ", "tzm_Latn": "aman"},
    ]
    manifest, out = run(write_table(tmp_path / "d.csv", rows), directions=["en_Latn->zgh_Tfng"], test_ratio=0,
                        validation_ratio=0)  # fmt: skip
    assert [r["direction"] for r in read_jsonl(out / "jsonl" / "train.jsonl")] == ["en_Latn->zgh_Tfng"]
    [reject] = read_jsonl(out / "rejects.jsonl")
    assert reject["code"] == "unsupported_direction" and "zgh_Tfng and tzm_Latn" in reject["reason"]


def test_token_limit_with_a_sentencepiece_model(run, tmp_path):
    import sentencepiece as spm

    text = tmp_path / "spm.txt"
    text.write_text("\n".join(["hello world", "bonjour le monde", "ⴰⵣⵓⵍ ⴼⵍⵍⴰⴽ"] * 50), encoding="utf-8")
    spm.SentencePieceTrainer.train(input=str(text), model_prefix=str(tmp_path / "sp"), vocab_size=40,
                                   model_type="char", minloglevel=2)  # fmt: skip
    rows = [{"en": "hello", "fr": "bonjour"}, {"en": "hello world hello world", "fr": "bonjour le monde"}]
    manifest, out = run(
        write_table(tmp_path / "k.csv", rows), tokenizer=str(tmp_path / "sp.model"), max_tokens=18
    )
    [reject] = read_jsonl(out / "rejects.jsonl")
    assert reject["code"] == "too_many_tokens" and "max_tokens=18" in reject["reason"]


def test_a_failed_run_leaves_the_previous_dataset_untouched(run, tmp_path):
    from tmz.core.errors import DataError
    from tmz.data import prepare

    manifest, out = run(write_table(tmp_path / "a.csv", WIDE))
    before = sorted(p.name for p in out.rglob("*"))
    (tmp_path / "bad.csv").write_text("", encoding="utf-8")
    with pytest.raises(DataError):
        prepare([tmp_path / "a.csv", tmp_path / "bad.csv"], out, progress=False)
    assert sorted(p.name for p in out.rglob("*")) == before
    assert load_manifest(out, expect_kind="dataset").results == manifest.results
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
