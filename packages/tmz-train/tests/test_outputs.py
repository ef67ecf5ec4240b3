"""`tmz train` --out: only what tmz wrote is replaced (unless --overwrite), never an input, and the checkpoint
folder's other files survive."""

from __future__ import annotations

from click.testing import CliRunner

from tmz.core.cli import cli


def flat(output: str) -> str:
    return " ".join(output.split())


def test_init_tiny_refuses_a_folder_of_other_files(tmp_path):
    important = tmp_path / "important"
    important.mkdir()
    (important / "notes.txt").write_text("mine", encoding="utf-8")
    r = CliRunner().invoke(cli, ["train", "init-tiny", str(important)])
    assert r.exit_code == 1 and "holds notes.txt and no tmz manifest" in flat(r.output), r.output
    assert "--overwrite" in flat(r.output) and [p.name for p in important.iterdir()] == ["notes.txt"]


def test_run_refuses_an_out_that_is_the_dataset_or_whose_work_folder_is(tmp_path):
    data = tmp_path / "x.work"
    data.mkdir()
    (data / "notes.txt").write_text("mine", encoding="utf-8")
    runner = CliRunner()
    for out, how in ((data, "is"), (data / "adapter", "lies inside"), (tmp_path / "x", "is")):  # x.work: x's
        r = runner.invoke(
            cli, ["train", "run", str(data), "--backend", "tiny", "--out", str(out), "--overwrite"]
        )
        assert r.exit_code == 1 and f"the output {how} the input" in flat(r.output), r.output
    assert [p.name for p in data.iterdir()] == ["notes.txt"]
