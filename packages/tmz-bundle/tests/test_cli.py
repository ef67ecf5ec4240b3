"""`tmz bundle make | inspect | verify | catalog | keygen` through the root CLI."""

import json
import shutil

import pytest
from click.testing import CliRunner

from tmz.bundle.naming import sidecar_name
from tmz.core.cli import cli


def run(*args):
    return CliRunner().invoke(cli, ["bundle", *map(str, args)], catch_exceptions=False)


def test_every_command_has_help_with_an_example():
    for command in ("make", "inspect", "verify", "catalog", "keygen"):
        result = run(command, "--help")
        assert result.exit_code == 0 and "Example:" in result.output, command


@pytest.mark.slow
def test_make_inspect_verify_catalog(tiny_text_export, tmp_path):
    dist = tmp_path / "dist"
    made = run("make", tiny_text_export, "--format", "litertlm", "--out", dist, "--version", "2.0.1")
    assert made.exit_code == 0, made.output
    [bundle] = dist.glob("*.litertlm")
    assert (dist / sidecar_name(bundle.name)).is_file()

    shown = run("inspect", bundle, "--json")
    data = json.loads(shown.output)
    assert data["format"] == "litertlm" and data["manifest"]["settings"]["version"] == "2.0.1"
    assert "tmz_manifest" not in data["system_metadata"]
    shown = run("inspect", bundle).output
    assert "tf_lite_prefill_decode" in shown and "v2.0.1" in shown
    assert f"from export {tiny_text_export.name} sha256" in shown  # the lineage, newest first

    verified = run("verify", bundle, "--no-smoke", "--json")
    assert verified.exit_code == 0, verified.output
    report = json.loads(verified.output)
    assert report["sidecar"] and len(report["sections_checked"]) == len(data["sections"])

    assert run("keygen", tmp_path / "keys" / "tmz").exit_code == 0
    signed = run("catalog", dist, "--key", tmp_path / "keys" / "tmz.key")
    assert signed.exit_code == 0 and "1 bundles" in signed.output
    ok = run("verify", dist / "catalog.json", "--public-key", tmp_path / "keys" / "tmz.pub")
    assert ok.exit_code == 0 and "signature OK" in ok.output


@pytest.mark.slow
def test_errors_exit_non_zero_naming_the_file(tiny_text_bundles, tmp_path):
    broken = tmp_path / tiny_text_bundles["task"].name
    shutil.copy(tiny_text_bundles["task"], broken)
    broken.write_bytes(broken.read_bytes()[:1000])
    result = run("verify", broken, "--no-smoke")
    output = " ".join(result.output.split()).replace("\n", "")
    assert result.exit_code == 1 and "truncated" in output
    assert broken.stem in result.output.replace("\n", "")
    unsigned = tmp_path / "catalog.json"
    unsigned.write_text("{}")
    assert run("verify", unsigned).exit_code == 1  # a catalog without --public-key
