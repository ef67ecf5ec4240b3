"""`tmz export run` when parity fails: the export is still written (and whole), the command exits 1 naming the
failing prompt and where the parity report is."""

import json
import re

import pytest
from click.testing import CliRunner

from tmz.core.cli import cli
from tmz.core.manifest import MANIFEST_NAME, ExportManifest, load_manifest

pytestmark = pytest.mark.slow
#: Wide enough that rich prints the error's paths and sentences unwrapped.
WIDE = CliRunner(env={"COLUMNS": "1000"})


def test_export_run_below_tolerance_writes_the_export_and_exits_1(
    tiny_text_model, memorised_text_pairs, tmp_path
):
    prompts = tmp_path / "prompts.jsonl"
    rows = [{"source_language": p.source.language, "source_script": p.source.script, "target_language":
             p.target.language, "target_script": p.target.script, "dialect": p.target.dialect or p.source.dialect,
             "source_text": str(p.input)} for p in memorised_text_pairs]  # fmt: skip
    prompts.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    out = tmp_path / "export"
    # int8 rounds every log-probability a little: no token may move at all fails the export, on every prompt
    result = WIDE.invoke(cli, ["export", "run", str(tiny_text_model), "--out", str(out), "-q", "int8",
                              "--prefill", "32", "--kv-cache", "128", "--prompts", str(prompts),
                              "-n", str(len(rows)), "--max-delta", "0", "--mean-delta", "0"])  # fmt: skip
    assert result.exit_code == 1, result.output
    assert "parity failed" in result.output and "beyond the log-prob tolerance" in result.output
    assert f"the whole report: results.parity in {out}/{MANIFEST_NAME}" in result.output
    manifest = load_manifest(out, expect_kind=ExportManifest)  # written, every file listed and intact
    parity = manifest.results.parity
    assert parity is not None and not parity.passed and parity.prompts == len(rows)
    assert parity.logprob_tolerance == parity.mean_tolerance == 0 and "overridden" in parity.tolerance_source
    failed = [c for c in parity.cases if c.failure is not None]
    assert parity.first_failure is not None and failed and any(c.id in result.output for c in failed)
    assert re.search(r"log p -?[\d.]+ in PyTorch and -?[\d.]+ in LiteRT-LM", result.output)  # both engines
    assert (out / manifest.settings.components.litertlm).is_file()
    # the same checkpoint under the measured int8 tolerance passes: the failure above is the tolerance's
    again = WIDE.invoke(cli, ["export", "verify", str(out), "--prompts", str(prompts), "-n", str(len(rows))])
    assert again.exit_code == 0 and f"parity passed: {len(rows)}/{len(rows)} identical" in again.output
