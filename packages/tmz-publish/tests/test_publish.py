"""`tmz publish`: the dry run lists exactly what would go, refusals, and the upload through a mocked HfApi."""

from __future__ import annotations

import re
import shutil
from unittest import mock

import pytest
from click.testing import CliRunner

from tmz.core.cli import cli
from tmz.core.manifest import MANIFEST_NAME, load_manifest
from tmz.publish import open_artifact, write_card
from tmz.publish.errors import PublishError
from tmz.publish.upload import plan, upload


def tmz(*args: str):
    return CliRunner().invoke(cli, list(map(str, args)), env={"COLUMNS": "1000"})


def test_dry_run_lists_files_sizes_card_and_license(sa_dataset) -> None:
    run = tmz("publish", sa_dataset, "--repo", "org/zgh-phrases", "--dry-run")
    assert run.exit_code == 0, run.output
    out = run.output
    assert "repository: org/zgh-phrases (dataset, public)" in out
    for f in load_manifest(sa_dataset).files:
        assert re.search(rf"^  {re.escape(f.path)}\s+{f.size:,} B$", out, re.M), f.path
    assert re.search(rf"^  {MANIFEST_NAME}\s+[\d,]+ B$", out, re.M)
    assert re.search(r"^  README.md\s+[\d,]+ B  card \(made from the manifests now\)$", out, re.M)
    assert "license: cc-by-sa-4.0 (CC-BY-SA-4.0)" in out and "ShareAlike" in out
    assert out.rstrip().endswith("dry run: nothing uploaded")


def test_a_card_that_does_not_state_the_lineage_license_is_refused(sa_dataset, tmp_path) -> None:
    copy = tmp_path / "data"
    shutil.copytree(sa_dataset, copy)
    card = write_card(copy)
    card.write_text(
        card.read_text(encoding="utf-8").replace("license: cc-by-sa-4.0", "license: mit"), encoding="utf-8"
    )
    run = tmz("publish", copy, "--repo", "org/x", "--dry-run")
    assert run.exit_code == 1
    assert "the card is not fit to publish" in run.output and "sources need 'cc-by-sa-4.0'" in run.output
    other = tmp_path / "other.md"
    other.write_text("---\nlicense: cc-by-sa-4.0\n---\n# no word of the terms\n", encoding="utf-8")
    run = tmz("publish", copy, "--repo", "org/x", "--dry-run", "--card", other)
    assert run.exit_code == 1 and "does not state CC-BY-SA-4.0" in run.output


def test_an_artifact_without_a_license_is_refused(corpus, tmp_path) -> None:
    from tmz.data import prepare

    prepare(corpus, tmp_path / "data", progress=False)
    run = tmz("publish", tmp_path / "data", "--repo", "org/x", "--dry-run")
    assert run.exit_code == 1 and "records no license" in run.output and "--license SPDX-ID" in run.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--repo", "no-slash"], "write it as ORG/NAME"),
        (["--repo", "org/x", "--link", "datset=org/d"], "--link 'datset=org/d'"),
    ],
)
def test_bad_options_are_clear_errors(sa_dataset, args, message) -> None:
    run = tmz("publish", sa_dataset, *args, "--dry-run")
    assert run.exit_code == 1 and message in run.output


def test_a_bad_evaluation_file_is_a_clear_error(sa_dataset, tmp_path) -> None:
    bad = tmp_path / "eval.json"
    bad.write_text('{"overall": 1}', encoding="utf-8")
    run = tmz("card", sa_dataset, "--evaluation", bad)
    assert run.exit_code == 1 and f"{bad}: not an evaluation report" in run.output


def test_upload_creates_the_repo_and_sends_files_and_card(sa_dataset, monkeypatch) -> None:
    p = plan(open_artifact(sa_dataset), "org/zgh-phrases", private=True)
    api = mock.Mock()
    api.create_repo.return_value = "https://huggingface.co/datasets/org/zgh-phrases"
    monkeypatch.delenv("HF_TOKEN", raising=False)
    with pytest.raises(PublishError, match="set HF_TOKEN"):
        upload(p, api=api)
    api.create_repo.assert_not_called()
    monkeypatch.setenv("HF_TOKEN", "hf_test")
    assert upload(p, api=api) == "https://huggingface.co/datasets/org/zgh-phrases"
    api.create_repo.assert_called_once_with(
        "org/zgh-phrases", repo_type="dataset", private=True, exist_ok=True
    )
    folder = api.upload_folder.call_args.kwargs
    assert folder["folder_path"] == str(sa_dataset) and folder["repo_type"] == "dataset"
    assert sorted(folder["allow_patterns"]) == sorted(
        [f.path for f in load_manifest(sa_dataset).files] + [MANIFEST_NAME]
    )
    card = api.upload_file.call_args.kwargs
    assert card["path_in_repo"] == "README.md" and card["path_or_fileobj"] == p.card.encode()


def test_publish_command_uploads_with_the_token(sa_dataset, monkeypatch) -> None:
    monkeypatch.setenv("HF_TOKEN", "hf_test")
    with mock.patch("huggingface_hub.HfApi") as hf:
        hf.return_value.create_repo.return_value = "https://huggingface.co/datasets/org/d"
        run = tmz("publish", sa_dataset, "--repo", "org/d")
    assert run.exit_code == 0, run.output
    hf.assert_called_once_with(token="hf_test")
    assert "uploaded: https://huggingface.co/datasets/org/d" in run.output


def test_card_command_prints_or_writes(sa_dataset, tmp_path) -> None:
    printed = tmz("card", sa_dataset)
    assert printed.exit_code == 0 and printed.output.startswith("---\n")
    out = tmp_path / "card.md"
    assert tmz("card", sa_dataset, "--out", out).exit_code == 0
    assert out.read_text(encoding="utf-8") in printed.output


def test_help_has_examples() -> None:
    for command in ("card", "publish"):
        run = tmz(command, "--help")
        assert run.exit_code == 0 and "Example:" in run.output
