"""The dataset contract's reader and writer refuse what is not a tmz dataset, naming the file and the line."""

from __future__ import annotations

import json

import pytest

from tmz.core.dataset import JSONL_DIR, SPLITS, load_splits, read_split, split_path, write_dataset
from tmz.core.errors import DataError

ROW = {
    "id": "r1|en_Latn->zgh_Tfng", "group": "g1", "direction": "en_Latn->zgh_Tfng", "source_language": "en",
    "source_script": "Latn", "target_language": "zgh", "target_script": "Tfng", "dialect": "zgh", "domain": None,
    "source_text": "Water", "target_text": "ⴰⵎⴰⵏ", "image": None, "derived": False,
    "messages": [{"role": "user", "content": [{"type": "text", "text": "Translate: Water"}]},
                 {"role": "assistant", "content": [{"type": "text", "text": "ⴰⵎⴰⵏ"}]}],
}  # fmt: skip


def write_lines(root, split, lines):
    (root / JSONL_DIR).mkdir(parents=True, exist_ok=True)
    split_path(root, split).write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def test_a_split_reads_back_as_examples(tmp_path):
    image = {**ROW, "image": "images/a.png", "source_text": None}
    image["messages"] = [
        {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Read it"}]}
    ]
    write_lines(tmp_path, "test", [json.dumps(ROW), "", json.dumps(image)])
    rows = read_split(tmp_path, "test")
    assert [r.modality for r in rows] == ["text", "image"] and rows[0].target_text == "ⴰⵎⴰⵏ"
    assert rows[1].messages[0].content[0].text is None


def test_bad_splits_are_named(tmp_path):
    with pytest.raises(DataError, match=r"test\.jsonl: the dataset has no 'test' split"):
        read_split(tmp_path, "test")
    write_lines(tmp_path, "test", [json.dumps(ROW), "{not json"])
    with pytest.raises(DataError, match=r"test\.jsonl:2: broken JSON line"):
        read_split(tmp_path, "test")
    write_lines(tmp_path, "test", [json.dumps({k: v for k, v in ROW.items() if k != "target_text"})])
    with pytest.raises(DataError, match=r"test\.jsonl:1: not a dataset row: target_text"):
        read_split(tmp_path, "test")
    write_lines(tmp_path, "test", [json.dumps({**ROW, "messages": [{"role": "system", "content": []}]})])
    with pytest.raises(DataError, match=r"test\.jsonl:1: not a dataset row: messages\.0\.role"):
        read_split(tmp_path, "test")


def test_hf_splits_are_required(tmp_path):
    datasets = pytest.importorskip("datasets")
    with pytest.raises(DataError, match="no hf/ directory"):
        load_splits(tmp_path)
    one = datasets.Dataset.from_list([ROW])
    with pytest.raises(DataError, match=r"\['validation', 'test'\] missing"):
        write_dataset(tmp_path, datasets.DatasetDict({"train": one}))
    written = write_dataset(tmp_path, datasets.DatasetDict({s: one for s in SPLITS}))
    assert {s: len(d) for s, d in written.items()} == {s: 1 for s in SPLITS}
    assert read_split(tmp_path, "train")[0].id == ROW["id"] and len(load_splits(tmp_path)["test"]) == 1


def test_jsonl_lines_are_json_dumps_of_the_rows_with_any_text(tmp_path):
    """The column-wise JSON-lines writer writes what ``json.dumps`` writes, escapes and nulls included."""
    datasets = pytest.importorskip("datasets")
    from tmz.core.dataset import features

    odd = 'a "quoted" \\ back\\slash\ttab\nline\r\x01\x1f\x7f \u2028 ⵣ é'
    image = {**ROW, "id": odd, "image": "images/a.png", "source_text": None, "domain": odd, "derived": True}
    image["messages"] = [
        {"role": "user", "content": [{"type": "image", "text": None}, {"type": "text", "text": odd}]},
        {"role": "assistant", "content": [{"type": "text", "text": odd}]},
    ]
    rows = [ROW, image, {**ROW, "dialect": None, "messages": []}]
    written = write_dataset(
        tmp_path,
        datasets.DatasetDict({s: datasets.Dataset.from_list(rows, features=features()) for s in SPLITS}),
    )
    expected = []
    for row in written["train"].to_list():
        for turn in row["messages"]:
            turn["content"] = [{k: v for k, v in p.items() if v is not None} for p in turn["content"]]
        expected.append(json.dumps(row, ensure_ascii=False))
    assert split_path(tmp_path, "train").read_text(encoding="utf-8").split("\n")[:-1] == expected
    assert read_split(tmp_path, "train")[1].messages[1].content[0].text == odd
    assert written["train"].to_list()[1]["id"] == odd  # hf/ holds the same rows


def test_a_large_split_is_written_in_shards_that_load_back_in_order(tmp_path, monkeypatch):
    datasets = pytest.importorskip("datasets")
    from tmz.core.dataset import DatasetWriter, features

    monkeypatch.setattr(datasets.config, "MAX_SHARD_SIZE", 1)  # every write past the first starts a shard
    with DatasetWriter(tmp_path) as writer:
        for i in range(3):
            one = datasets.Dataset.from_list([{**ROW, "id": f"r{i}"}], features=features())
            writer.write("train", one.data.table)
    written = writer.finish()
    assert sorted(p.name for p in (tmp_path / "hf" / "train").glob("*.arrow")) == [
        f"data-0000{i}-of-00003.arrow" for i in range(3)
    ]
    assert [r["id"] for r in written["train"]] == ["r0", "r1", "r2"] and len(written["test"]) == 0
    assert [r.id for r in read_split(tmp_path, "train")] == ["r0", "r1", "r2"]
