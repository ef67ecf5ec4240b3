"""The pipeline's commands as a user types them: `tmz pipeline run FILE.toml`, `tmz demo --corpus`, `--verbose`.

Each stops after the data stage (`--until prepare`): seconds, no training.
"""

import csv
import os
import subprocess
import sys

from click.testing import CliRunner

from tmz.core.cli import cli
from tmz.core.manifest import DatasetManifest, load_manifest, sha256_file
from tmz.pipeline.demo import find_corpus

#: Wide enough that rich prints the stage table's paths whole.
WIDE = CliRunner(env={"COLUMNS": "200"})

#: The project's own phrases (English -> Tifinagh Tamazight), the demo's direction.
PHRASES = [("Help!", "ⴰⵡⵙ!"), ("Thank you.", "ⵜⴰⵏⵎⵎⵉⵔⵜ."), ("Water, please.", "ⴰⵎⴰⵏ, ⵜⵜⵅⵉⵍ.")]


def _corpus(path):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["source_language", "target_language", "source_text", "target_text"])
        w.writerows(("English", "Tamazight (Tifinagh)", en, zgh) for en, zgh in PHRASES)
    return path


def _read_from(work) -> list[tuple[str, str]]:
    """(path, sha256) of every file the dataset in ``work/data`` was prepared from."""
    dataset = load_manifest(work / "data", expect_kind=DatasetManifest)
    return [(f.path, f.sha256) for s in dataset.settings.sources for f in s.files]


def test_pipeline_run_cli_runs_a_toml_file_until_prepare(tmp_path):
    corpus = _corpus(tmp_path / "phrases.csv")
    cfg = tmp_path / "small.toml"
    cfg.write_text('[pipeline]\nname = "small"\nworkdir = "work"\n[data]\nsources = ["phrases.csv"]\n'
                   'options = { test_ratio = 0.0, validation_ratio = 0.0 }\n[train]\nbackend = "tiny"\n')  # fmt: skip
    work = tmp_path / "work"  # relative to the file, like every path in it
    r = WIDE.invoke(cli, ["pipeline", "run", str(cfg), "--until", "prepare"])
    assert r.exit_code == 0, r.output
    assert "✓ prepare" in r.output and "│ prepare │ ran " in r.output and str(work / "data") in r.output
    assert _read_from(work) == [(str(corpus), sha256_file(corpus))]
    dataset = load_manifest(work / "data", expect_kind=DatasetManifest)
    assert dataset.results.rows.accepted == len(PHRASES) and dataset.results.splits[
        "train"
    ].examples == 2 * len(PHRASES)
    assert not (work / "adapter").exists()  # --until: nothing after the data stage
    again = WIDE.invoke(cli, ["pipeline", "run", str(cfg), "--until", "prepare"])
    assert again.exit_code == 0 and "│ prepare │ skipped " in again.output
    missing = CliRunner().invoke(cli, ["pipeline", "run", str(tmp_path / "none.toml")])
    assert missing.exit_code == 1 and "no such pipeline configuration" in missing.output


def test_demo_corpus_option_learns_the_given_file(tmp_path):
    corpus = _corpus(tmp_path / "mine.csv")
    work = tmp_path / "w"
    r = CliRunner().invoke(
        cli, ["demo", "--until", "prepare", "--corpus", str(corpus), "--workdir", str(work)]
    )
    assert r.exit_code == 0, r.output
    assert _read_from(work) == [(str(corpus), sha256_file(corpus))]  # this file, not the example corpus
    assert sha256_file(corpus) != sha256_file(find_corpus())
    dataset = load_manifest(work / "data", expect_kind=DatasetManifest)
    assert dataset.results.rows.read == dataset.results.rows.accepted == len(PHRASES)
    assert dataset.directions == ["en_Latn->zgh_Tfng"]  # the demo's direction only


def test_verbose_shows_the_libraries_output_on_the_terminal(tmp_path):
    """The data stage's progress bar ("reading phrases.csv"): on the terminal with --verbose, else only in the
    stage's log. Real processes, so that the output crosses real file descriptors."""

    def demo(work, *flags):
        cmd = [sys.executable, "-c", "from tmz.core.cli import main; main()", "demo", "--until", "prepare",
               "--workdir", str(work), *flags]  # fmt: skip
        run = subprocess.run(
            cmd, capture_output=True, text=True, timeout=300, env={**os.environ, "COLUMNS": "200"}
        )
        assert run.returncode == 0, run.stderr[-3000:]
        return run.stdout + run.stderr

    shown = demo(tmp_path / "verbose", "--verbose")
    assert "reading phrases.csv" in shown and "rows" in shown
    assert "library output goes to" not in shown and not (tmp_path / "verbose" / "logs").exists()
    quiet = demo(tmp_path / "quiet")
    assert "reading phrases.csv" not in quiet and "✓ prepare" in quiet
    assert "reading phrases.csv" in (tmp_path / "quiet" / "logs" / "prepare.log").read_text(encoding="utf-8")
