"""`tmz demo`, as the README runs it: offline, ends with translations printed from both bundles."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from tmz_offline import offline_env

from tmz.core.manifest import MANIFEST_NAME, load_manifest
from tmz.core.scoring import Evaluation
from tmz.core.units import human_size

pytestmark = pytest.mark.slow
#: "Near zero" on held-out phrases, as README's Honest limits says: well under what a model that translates scores.
HELD_OUT_CHRF = 20.0
STAGES = ("prepare", "finetune", "merge", "evaluate", "export", "bundle task", "bundle litertlm")
#: A row of the stage table: stage, status, seconds, size, where the artifact is.
STAGE_ROW = re.compile(
    r"^│ (\w[\w ]*?)\s+│ (ran|skipped)\s+│\s+(\d+\.\d) │\s+(\d+(?:\.\d)? [KMG]?B) │ (\S+)\s+│$", re.M
)


def assert_stage_table(out: str, work: Path) -> None:
    """The stage table: every stage once, its seconds, the size of what it wrote (as on disk) and where it is."""
    rows = {
        stage: (float(seconds), size, Path(where))
        for stage, _, seconds, size, where in STAGE_ROW.findall(out)
    }
    assert list(rows) == list(STAGES), out
    for stage, (seconds, size, where) in rows.items():
        assert where.exists() and where.is_relative_to(work), (stage, where)
        if where.is_dir() or where.name.endswith(MANIFEST_NAME):  # an artifact: the files its manifest lists
            on_disk = sum(f.size for f in load_manifest(where).files)
        else:
            on_disk = where.stat().st_size
        assert size == human_size(on_disk), (stage, size, on_disk)
        assert 0 <= seconds < 1800, (stage, seconds)
    assert rows["finetune"][0] >= 1.0 and rows["export"][0] >= 1.0  # they trained and converted
    assert rows["prepare"][2] == work / "data" and rows["evaluate"][2] == work / "evaluation.json"
    for fmt in ("task", "litertlm"):  # a bundle's row: its sidecar manifest, the bundle file beside it
        sidecar = rows[f"bundle {fmt}"][2]
        assert sidecar.name.endswith(f".{fmt}.{MANIFEST_NAME}") and sidecar.parent == work / "dist"
        assert sidecar.with_name(sidecar.name.removesuffix(f".{MANIFEST_NAME}")).stat().st_size > 100_000


def test_demo_prints_learned_translations_from_both_bundles(tmp_path):
    env = offline_env({**os.environ, "COLUMNS": "250", "CUDA_VISIBLE_DEVICES": ""})  # no network, no GPU
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
    for stage in STAGES:
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
    adapter = load_manifest(tmp_path / "demo" / "adapter")
    assert adapter.settings.hardware.device == "cpu"  # CUDA hidden: it trained on the CPU
    learned_ids = {m.id for m in adapter.results.recall.margins if m.recalled and m.margin >= 1.0}
    parity = load_manifest(tmp_path / "demo" / "export").results.parity
    assert parity.passed and {c.id for c in parity.cases} <= learned_ids
    # the held-out score is printed, and it is low: the tiny model memorised its training split (Honest limits)
    score = re.search(
        r"^evaluation \(test split, PyTorch\): 8 rows, chrF\+\+ ([\d.]+), BLEU ([\d.]+), exact ([\d.]+)$",
        out,
        re.M,
    )
    assert score, out
    chrf, bleu, exact = map(float, score.groups())
    evaluation = Evaluation.model_validate_json(
        (tmp_path / "demo" / "evaluation.json").read_text(encoding="utf-8")
    )
    assert (evaluation.split, f"{evaluation.overall.chrf:.1f}") == ("test", score[1])  # the file's score
    assert chrf < HELD_OUT_CHRF and bleu < HELD_OUT_CHRF and exact < 0.5, score[0]
    assert_stage_table(out, tmp_path / "demo")
    assert (tmp_path / "demo" / "dist").is_dir() and len(list((tmp_path / "demo" / "dist").glob("*.t*"))) >= 2
    # the terminal shows a line per stage; the libraries' output is in the stage logs
    for stage in ("prepare", "finetune", "merge", "evaluate", "export", "bundle task", "bundle litertlm",
                  "translate"):  # fmt: skip
        assert f"✓ {stage} " in run.stderr, stage
        assert (tmp_path / "demo" / "logs" / f"{stage.replace(' ', '-')}.log").is_file(), stage
    assert len(run.stderr.splitlines()) < 25 and "it/s" not in run.stderr, run.stderr[-3000:]
