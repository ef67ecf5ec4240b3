"""``tmz review``: help with examples, reviewers, export and report from the command line, errors as messages."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from tmz.core.cli import cli
from tmz.review.store import Store

from .test_export import reviewed_store


@pytest.fixture
def run(tmp_path):
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(
            cli, ["review", "--db", str(tmp_path / "review.sqlite"), *args], catch_exceptions=False
        )

    return invoke


@pytest.mark.parametrize("command", [[], ["serve"], ["add-reviewer"], ["export"], ["report"]])
def test_every_command_has_help_with_an_example(run, command):
    result = run(*command, "--help")
    assert result.exit_code == 0
    assert "Example:" in result.output and "tmz review" in result.output


def test_add_reviewer_prints_a_token_that_signs_in(run, tmp_path):
    result = run("add-reviewer", "Itto")
    assert result.exit_code == 0
    token = result.stdout.strip()
    with Store(tmp_path / "review.sqlite") as store:
        assert store.reviewer_by_token(token)[1] == "Itto"
    again = run("add-reviewer", "Itto")
    assert again.exit_code == 1 and "exists; pass --new-token" in again.stderr


def test_export_and_report(run, tmp_path):
    with Store(tmp_path / "review.sqlite") as store:
        reviewed_store(store)
    result = run("export", str(tmp_path / "review.csv"))
    assert result.exit_code == 0 and "2 corrections, 2 approvals" in result.stderr
    result = run("report", str(tmp_path / "report"))
    assert result.exit_code == 0 and (tmp_path / "report" / "report.png").is_file()


def test_serve_errors_are_messages(run, tmp_path, batch_run):
    result = run("serve", str(tmp_path / "nope.litertlm"), "--data", str(batch_run))
    assert result.exit_code == 1 and "nope.litertlm: no such bundle" in " ".join(result.stderr.split())
    result = run("report", str(tmp_path / "report"))
    assert result.exit_code == 1 and "no judgements yet" in " ".join(result.stderr.split())
