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
