"""`tmz data` commands through click's runner."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from tmz.core.cli import cli
from tmz.core.manifest import load_manifest

from .conftest import REPO

PHRASES = REPO / "examples" / "corpus" / "phrases.csv"


@pytest.mark.parametrize("command", ["prepare", "stats", "transliterate", "inspect"])
def test_every_command_has_help_with_an_example(command):
    result = CliRunner().invoke(cli, ["data", command, "--help"])
    assert result.exit_code == 0 and "Example:" in result.output and "tmz data " + command in result.output


def test_transliterate_both_ways_and_from_stdin():
    r = CliRunner().invoke(cli, ["data", "transliterate", "ⴰⴳⵯⴻⵍⵍⵉⴷ", "ⴰⵣⵓⵍ", "--to", "Latn"])
    assert r.exit_code == 0 and r.output == "agʷellid azul\n"
    r = CliRunner().invoke(cli, ["data", "transliterate", "--to", "Tfng"], input="tanmmirt\nγas\n")
    assert r.exit_code == 0 and r.output == "ⵜⴰⵏⵎⵎⵉⵔⵜ\nⵖⴰⵙ\n"
    r = CliRunner().invoke(cli, ["data", "transliterate", "azul", "--to", "Tfng", "--dialect", "shi"])
    assert r.exit_code == 1 and "unknown dialect 'shi'" in r.output


def test_prepare_stats_inspect(tmp_path):
    out = tmp_path / "data"
    runner = CliRunner()
    r = runner.invoke(cli, ["data", "prepare", str(PHRASES), "--out", str(out), "-q", "--direction",
                            "en_Latn->zgh_Tfng", "--direction", "zgh_Tfng->en_Latn"])  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "accepted" in r.output and "en_Latn->zgh_Tfng" in r.output
    r = runner.invoke(cli, ["data", "stats", str(out), "--json"])
    assert r.exit_code == 0, r.output
    stats = json.loads(r.output)
    assert stats["rows"]["accepted"] == stats["rows"]["read"] > 0
    manifest = load_manifest(out, expect_kind="dataset")
    assert stats["rows"] == manifest.results.rows.model_dump()
    assert stats["examples"]["by_direction"] == manifest.results.examples.by_direction
    assert set(manifest.results.examples.by_direction) == {"en_Latn->zgh_Tfng", "zgh_Tfng->en_Latn"}
    assert manifest.settings.directions == ["en_Latn->zgh_Tfng", "zgh_Tfng->en_Latn"]
    assert set(stats["lengths"]["train"]) == {"source_chars", "target_chars"}
    assert (
        stats["lengths"]["train"]["source_chars"]["max"]
        >= stats["lengths"]["train"]["source_chars"]["p50"]
        > 0
    )
    r = runner.invoke(cli, ["data", "stats", str(out)])
    assert r.exit_code == 0 and "Lengths" in r.output
    r = runner.invoke(cli, ["data", "inspect", str(out), "-n", "2", "--direction", "en_Latn->zgh_Tfng"])
    assert r.exit_code == 0 and "Translate from English to Standard Moroccan Tamazight" in r.output


def test_prepare_error_is_a_clean_message(tmp_path):
    bad = tmp_path / "c.csv"
    bad.write_text("source_language,target_language\nEnglish,French\n", encoding="utf-8")
    r = CliRunner().invoke(cli, ["data", "prepare", str(bad), "--out", str(tmp_path / "o"), "-q"])
    compact = "".join(r.output.split())  # the message wraps at the terminal's width, wherever the path ends
    assert r.exit_code == 1 and "missingcolumn(s)" in compact and str(bad) in compact
    assert "Traceback" not in r.output


def test_inspect_rejects_shows_code_and_reason(tmp_path):
    corpus = tmp_path / "c.csv"
    corpus.write_text("en,zgh_Tfng\nHello,ⴰⵣⵓⵍ\nWater,aman\n", encoding="utf-8")
    runner = CliRunner()
    assert (
        runner.invoke(cli, ["data", "prepare", str(corpus), "--out", str(tmp_path / "d"), "-q"]).exit_code
        == 0
    )
    r = runner.invoke(cli, ["data", "inspect", str(tmp_path / "d"), "--rejects"])
    text = " ".join(r.output.split())  # rich wraps long lines
    assert r.exit_code == 0 and "c.csv:3 [wrong_script] zgh_Tfng: declared script Tfng" in text


def test_prepare_options_come_from_prepare_options(tmp_path):
    """Every option has PrepareOptions' default; the values given reach the manifest's settings."""
    out = tmp_path / "d"
    r = CliRunner().invoke(cli, ["data", "prepare", str(PHRASES), "--out", str(out), "-q", "--seed", "7",
                                 "--transliterate", "--max-chars", "500", "--column", "domain=domain"])  # fmt: skip
    assert r.exit_code == 0, r.output
    settings = load_manifest(out, expect_kind="dataset").settings
    assert (settings.seed, settings.transliterate, settings.max_chars) == (7, True, 500)
    assert settings.columns == {"domain": "domain"} and settings.directions is None
    assert settings.validation_ratio == 0.1 and settings.min_image_size == 32  # the model's defaults


def test_invalid_option_value_is_a_clear_error_naming_it(tmp_path):
    out = tmp_path / "o"
    args = ["data", "prepare", str(PHRASES), "--out", str(out), "-q"]
    r = CliRunner().invoke(cli, [*args, "--validation-ratio", "0.95", "--test-ratio", "0.1"])
    text = " ".join(r.output.split())
    assert (
        r.exit_code == 1 and "--validation-ratio + --test-ratio must leave room for a training split" in text
    )
    assert "Traceback" not in r.output and not out.exists()
    r = CliRunner().invoke(cli, [*args, "--max-foreign-share", "1.5"])
    assert r.exit_code == 1 and "--max-foreign-share must be in [0, 1), got 1.5" in " ".join(r.output.split())
    r = CliRunner().invoke(cli, [*args, "--layout", "tall"])
    assert r.exit_code == 2 and "--layout" in r.output and "'tall' is not one of" in r.output
    r = CliRunner().invoke(cli, [*args, "--column", "text=src"])
    assert r.exit_code == 1 and "unknown field(s) ['text']" in " ".join(r.output.split())
