"""A manifest lists only files inside its artifact: absolute paths, '..' and links to outside are refused."""

from __future__ import annotations

import json

import pytest

from tmz.core.errors import ManifestError
from tmz.core.manifest import (
    MANIFEST_NAME,
    ModelManifest,
    Producer,
    list_files,
    load_manifest,
    sha256_file,
    write_manifest,
)


@pytest.fixture
def model(tmp_path):
    """A model artifact holding one file, and a secret beside it (outside the artifact)."""
    root = tmp_path / "model"
    root.mkdir()
    (root / "sub").mkdir()
    (root / "config.json").write_text("{}", encoding="utf-8")
    (tmp_path / "secret.txt").write_text("secret", encoding="utf-8")
    write_manifest(ModelManifest(name="m", producer=Producer.of("tmz-core"), backend="tiny",
                                 files=list_files(root)), root)  # fmt: skip
    return root


def listing(root, path: str) -> None:
    """Add an entry for ``path`` to the manifest, with the right size and sha256 of what it points at."""
    target = root / path  # an absolute path stays itself
    raw = json.loads((root / MANIFEST_NAME).read_text(encoding="utf-8"))
    raw["files"].append({"path": path, "sha256": sha256_file(target), "size": target.stat().st_size})
    (root / MANIFEST_NAME).write_text(json.dumps(raw), encoding="utf-8")


@pytest.mark.parametrize("path", ["../secret.txt", "sub/../../secret.txt", "ABSOLUTE"])
def test_paths_outside_the_artifact_are_refused_even_with_the_right_hash(model, path):
    path = str(model.parent / "secret.txt") if path == "ABSOLUTE" else path
    listing(model, path)
    for verify in (True, False):  # refused when the manifest is read, before any file is opened
        with pytest.raises(
            ManifestError, match=rf"file path '{path}' must be relative to the artifact's folder"
        ):
            load_manifest(model, verify=verify)


def test_a_listed_symbolic_link_to_outside_is_refused(model):
    (model / "weights.bin").symlink_to(model.parent / "secret.txt")
    listing(model, "weights.bin")
    with pytest.raises(
        ManifestError, match=r"file 'weights.bin' leads outside the artifact \(a symbolic link"
    ):
        load_manifest(model)


def test_a_folder_linked_to_outside_is_refused(model):
    (model / "up").symlink_to(model.parent)
    listing(model, "up/secret.txt")
    with pytest.raises(ManifestError, match="file 'up/secret.txt' leads outside the artifact"):
        load_manifest(model)


def test_a_link_within_the_artifact_is_accepted(model):
    (model / "alias.json").symlink_to("config.json")
    listing(model, "alias.json")
    assert [f.path for f in load_manifest(model).files] == ["config.json", "alias.json"]
