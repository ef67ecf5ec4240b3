import json

import pytest

from tmz.core.atomic import atomic_directory, write_text_atomic
from tmz.core.errors import ManifestError
from tmz.core.kinds.dataset import DatasetResults, DatasetSettings, ExampleCounts, RowCounts
from tmz.core.manifest import (
    MANIFEST_NAME,
    DatasetManifest,
    ModelManifest,
    Producer,
    find_parent,
    list_files,
    load_manifest,
    parent_ref,
    write_manifest,
)


@pytest.fixture
def artifact(tmp_path):
    root = tmp_path / "data"
    (root / "sub").mkdir(parents=True)
    (root / "a.txt").write_text("hello")
    (root / "sub" / "b.bin").write_bytes(b"\x00\x01\x02")
    m = DatasetManifest(
        name="demo",
        producer=Producer.of("tmz-core"),
        files=list_files(root),
        languages=["en", "zgh"],
        directions=["en_Latn->zgh_Tfng"],
        prompt_format="tmz-v1",
        settings=DatasetSettings(seed=1),
        results=DatasetResults(
            rows=RowCounts(read=2, accepted=2, rejected=0),
            examples=ExampleCounts(
                total=2,
                derived=0,
                by_split={"train": 2},
                by_direction={},
                by_dialect={},
                by_script={},
                by_domain={},
            ),
            splits={},
        ),  # fmt: skip
    )
    write_manifest(m, root)
    return root, m


def test_round_trip(artifact):
    root, m = artifact
    loaded = load_manifest(root, expect_kind="dataset")
    assert loaded == m
    assert [f.path for f in loaded.files] == ["a.txt", "sub/b.bin"]
    assert loaded.file("a.txt").size == 5
    assert load_manifest(root / MANIFEST_NAME, expect_kind=DatasetManifest) == m


def test_parent_ref_links_child_to_parent(artifact, tmp_path):
    root, _ = artifact
    ref = parent_ref(root, tmp_path / "model")
    child = ModelManifest(name="m", producer=Producer.of("tmz-core"), backend="tiny", parent=ref)
    write_manifest(child, tmp_path / "model")
    loaded = load_manifest(tmp_path / "model")
    assert loaded.parent.sha256 == ref.sha256 and ref.kind == "dataset"
    assert ref.path == "../data/tmz-manifest.json"  # relative: the tree can move as a whole
    assert find_parent(loaded, tmp_path / "model") == root.resolve()


def test_parent_is_found_by_hash_after_the_tree_moves(artifact, tmp_path):
    root, _ = artifact
    write_manifest(ModelManifest(name="m", producer=Producer.of("tmz-core"), backend="tiny",
                                 parent=parent_ref(root, tmp_path / "model")), tmp_path / "model")  # fmt: skip
    moved = tmp_path / "elsewhere"
    moved.mkdir()
    for name in ("data", "model"):
        (tmp_path / name).rename(moved / name)
    assert find_parent(load_manifest(moved / "model"), moved / "model") == (moved / "data").resolve()


def test_a_replaced_parent_is_not_followed(artifact, tmp_path):
    root, m = artifact
    write_manifest(ModelManifest(name="m", producer=Producer.of("tmz-core"), backend="tiny",
                                 parent=parent_ref(root, tmp_path / "model")), tmp_path / "model")  # fmt: skip
    write_manifest(m.model_copy(update={"name": "another"}), root)  # same place, another artifact
    with pytest.raises(ManifestError, match="is another artifact now"):
        find_parent(load_manifest(tmp_path / "model"), tmp_path / "model")
    (root / MANIFEST_NAME).unlink()
    with pytest.raises(ManifestError, match="is not there; pass the parent artifact explicitly"):
        find_parent(load_manifest(tmp_path / "model"), tmp_path / "model")


def test_missing_file(artifact):
    root, _ = artifact
    (root / "a.txt").unlink()
    with pytest.raises(ManifestError, match="'a.txt' is missing"):
        load_manifest(root)


def test_hash_mismatch(artifact):
    root, _ = artifact
    (root / "a.txt").write_text("HELLO")  # same size, other bytes
    with pytest.raises(ManifestError, match="sha256 mismatch for 'a.txt'"):
        load_manifest(root)


def test_truncated_file(artifact):
    root, _ = artifact
    (root / "sub" / "b.bin").write_bytes(b"\x00")
    with pytest.raises(ManifestError, match="'sub/b.bin' has 1 bytes, manifest says 3"):
        load_manifest(root)


def test_wrong_kind(artifact):
    root, _ = artifact
    with pytest.raises(ManifestError, match="expected a model artifact, found kind 'dataset'"):
        load_manifest(root, expect_kind="model")


def test_unknown_schema_version(artifact):
    root, _ = artifact
    raw = json.loads((root / MANIFEST_NAME).read_text())
    raw["schema_version"] = 99
    (root / MANIFEST_NAME).write_text(json.dumps(raw))
    with pytest.raises(ManifestError, match="unknown schema_version 99"):
        load_manifest(root)


def test_malformed_json(artifact):
    root, _ = artifact
    (root / MANIFEST_NAME).write_text("{not json")
    with pytest.raises(ManifestError, match="malformed manifest JSON"):
        load_manifest(root)


def test_invalid_fields(artifact):
    root, _ = artifact
    raw = json.loads((root / MANIFEST_NAME).read_text())
    del raw["producer"]
    (root / MANIFEST_NAME).write_text(json.dumps(raw))
    with pytest.raises(ManifestError, match="invalid manifest"):
        load_manifest(root)


def test_no_manifest(tmp_path):
    with pytest.raises(ManifestError, match="no tmz manifest here"):
        load_manifest(tmp_path)


def test_verify_can_be_skipped(artifact):
    root, _ = artifact
    (root / "a.txt").unlink()
    assert load_manifest(root, verify=False).name == "demo"


def test_atomic_write_leaves_no_temporary(tmp_path):
    write_text_atomic(tmp_path / "x.json", "{}")
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]


def test_atomic_directory_keeps_old_on_failure(tmp_path):
    out = tmp_path / "art"
    with atomic_directory(out, "dataset") as d:
        (d / "f").write_text("v1")
    with pytest.raises(KeyboardInterrupt), atomic_directory(out, "dataset", overwrite=True) as d:
        (d / "f").write_text("half")
        raise KeyboardInterrupt
    assert (out / "f").read_text() == "v1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["art"]
    with atomic_directory(out, "dataset", overwrite=True) as d:  # no manifest: replaced only when asked
        (d / "g").write_text("v2")
    assert sorted(p.name for p in out.iterdir()) == ["g"]


def test_coverage_is_what_a_child_inherits(artifact):
    _, m = artifact
    child = ModelManifest(name="m", producer=Producer.of("tmz-core"), backend="tiny", **m.coverage())
    assert (child.languages, child.directions, child.prompt_format) == (
        ["en", "zgh"],
        ["en_Latn->zgh_Tfng"],
        "tmz-v1",
    )
    child.languages.append("fr")  # a copy: the parent is untouched
    assert m.languages == ["en", "zgh"]
