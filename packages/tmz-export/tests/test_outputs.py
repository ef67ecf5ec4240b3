"""`export run --out` replaces only an export tmz wrote and never the model; `verify --model` takes a plain
checkpoint."""

from __future__ import annotations

import shutil

import pytest
from click.testing import CliRunner

from tmz.core.cli import cli
from tmz.core.errors import OutputError
from tmz.core.manifest import MANIFEST_NAME
from tmz.export import export


def test_out_holding_other_files_is_refused_before_anything_runs(tmp_path):
    model, important = tmp_path / "model", tmp_path / "important"
    for d in (model, important):
        d.mkdir()
    (important / "notes.txt").write_text("mine", encoding="utf-8")
    r = CliRunner().invoke(cli, ["export", "run", str(model), "--out", str(important)])
    assert r.exit_code == 1 and "Traceback" not in r.output
    flat = " ".join(r.output.split())
    assert "important: holds notes.txt and no tmz manifest" in flat and "--overwrite" in flat, flat
    assert [p.name for p in important.iterdir()] == ["notes.txt"]


@pytest.mark.parametrize("out", ["model", "model/export", "."], ids=["the model", "inside it", "its parent"])
def test_out_overlapping_the_model_is_refused_even_with_overwrite(tmp_path, out):
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}", encoding="utf-8")
    with pytest.raises(OutputError, match="the input .*--overwrite does not change this"):
        export(model, tmp_path / out, overwrite=True)
    assert [p.name for p in model.iterdir()] == ["config.json"]


@pytest.mark.slow
def test_verify_against_a_plain_checkpoint(tiny_text_export, tiny_text_model, memorised_text_pairs, tmp_path):
    """--model may be a checkpoint without a tmz manifest (a copy, or one made elsewhere)."""
    import json

    from tmz.train.memorise import pair_row

    plain = tmp_path / "plain"
    shutil.copytree(tiny_text_model, plain, ignore=shutil.ignore_patterns(MANIFEST_NAME))
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text("".join(json.dumps(pair_row(i, p)) + "\n" for i, p in enumerate(memorised_text_pairs)),
                       encoding="utf-8")  # fmt: skip
    runner = CliRunner()
    export_dir = str(tiny_text_export)
    r = runner.invoke(cli, ["export", "verify", export_dir, "--model", str(plain), "--prompts", str(prompts)])
    assert r.exit_code == 0 and "parity passed" in r.output, r.output
    r = runner.invoke(cli, ["export", "verify", export_dir, "--model", str(plain)])  # built-in prompts
    assert isinstance(r.exception, SystemExit | None) and r.exit_code in (0, 1), r.exception
    assert r.exit_code == 0 or "error:" in r.output, r.output
    r = runner.invoke(cli, ["export", "verify", export_dir, "--model", str(tmp_path)])
    assert r.exit_code == 1 and "no config.json" in " ".join(r.output.split()), r.output
