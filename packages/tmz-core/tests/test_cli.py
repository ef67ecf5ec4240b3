import json
import re

import pytest
from click.testing import CliRunner

from tmz.core.cli import cli
from tmz.core.plugins import get_registry


def test_plugins_lists_builtins_with_sources():
    result = CliRunner().invoke(cli, ["plugins", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {lang["code"] for lang in data["languages"]} >= {"en", "fr", "ar", "zgh", "tzm"}
    assert all(lang["source"] == "tmz-core" for lang in data["languages"] if lang["code"] in {"en", "zgh"})
    assert {b["name"] for b in data["backends"]} >= {"gemma3-1b-text", "gemma3-4b-vision", "tiny"}
    assert "en_Latn->zgh_Tfng" in data["directions"]


def test_plugins_table_and_help():
    result = CliRunner().invoke(cli, ["plugins"])
    assert result.exit_code == 0 and "Model backends" in result.output
    helped = CliRunner().invoke(cli, ["--help"])
    assert "Example" in helped.output and "plugins" in helped.output


@pytest.mark.parametrize("columns", ["80", "40"])
def test_plugins_listing_never_cuts_names_or_codes(columns):
    result = CliRunner(env={"COLUMNS": columns}).invoke(cli, ["plugins"])
    assert result.exit_code == 0, result.output
    assert "…" not in result.output
    words = set(re.split(r"[\s│┃]+", result.output))
    reg = get_registry()
    for name in [*reg.backends, *reg.languages, *reg.dialects, "tmz-pipeline", "tmz-runtime"]:
        assert name in words, name
