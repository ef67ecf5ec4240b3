"""`tmz demo`, as the README runs it: offline, ends with translations printed from both bundles."""

import os
import re
import subprocess
import sys

import pytest
from tmz_offline import offline_env

from tmz.core.manifest import load_manifest

pytestmark = pytest.mark.slow


def test_demo_prints_learned_translations_from_both_bundles(tmp_path):
    env = offline_env({**os.environ, "COLUMNS": "200", "CUDA_VISIBLE_DEVICES": ""})  # no network, no GPU
    cmd = [
        sys.executable,
        "-c",
        "from tmz.core.cli import main; main()",
        "demo",
        "--workdir",
        str(tmp_path / "demo"),
    ]
    run = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1800)
    assert run.returncode == 0, run.stderr[-3000:]
    out = run.stdout
    for stage in ("prepare", "finetune", "merge", "evaluate", "export", "bundle task", "bundle litertlm"):
        assert re.search(rf"│ {stage}\s+│ ran ", out), stage
    rows = [line for line in out.splitlines() if re.match(r"│ \.(task|litertlm)\s", line)]
    assert {r.split("│")[1].strip() for r in rows} == {".task", ".litertlm"}
    learned = [r for r in rows if "zgh_Tfng" in r]
    assert len(learned) == 8 and all("│ = " in r for r in learned)  # output equals the trained answer
    assert all("│ model" in r for r in rows)
    # it trained until learned, says after how many steps, and uses only learned phrases for parity
    said = re.search(
        r"learned: (all (\d+) train phrases recalled exactly after (\d+) steps|(\d+) of (\d+))", out
    )
    assert said, out
    adapter = load_manifest(tmp_path / "demo" / "adapter").results
    learned_ids = {m.id for m in adapter.recall.margins if m.recalled and m.margin >= 1.0}
    parity = load_manifest(tmp_path / "demo" / "export").results.parity
    assert parity.passed and {c.id for c in parity.cases} <= learned_ids
    assert re.search(
        r"evaluation \(test split, PyTorch\): 8 rows, chrF\+\+ \d", out
    )  # the held-out score is printed
    assert (tmp_path / "demo" / "dist").is_dir() and len(list((tmp_path / "demo" / "dist").glob("*.t*"))) >= 2
    # the terminal shows a line per stage; the libraries' output is in the stage logs
    for stage in ("prepare", "finetune", "merge", "evaluate", "export", "bundle task", "bundle litertlm",
                  "translate"):  # fmt: skip
        assert f"✓ {stage} " in run.stderr, stage
        assert (tmp_path / "demo" / "logs" / f"{stage.replace(' ', '-')}.log").is_file(), stage
    assert len(run.stderr.splitlines()) < 25 and "it/s" not in run.stderr, run.stderr[-3000:]
