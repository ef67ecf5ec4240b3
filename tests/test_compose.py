"""examples/compose.py, the README's Python composition, runs the whole chain with public APIs only."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
from tmz_offline import offline_env

pytestmark = pytest.mark.slow
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "compose.py"


def test_compose_example_runs_the_chain(tmp_path):
    work = tmp_path / "compose"
    run = subprocess.run([sys.executable, str(EXAMPLE), "--backend", "tiny", "--workdir", str(work)],
                         capture_output=True, text=True, env=offline_env(), timeout=1800)  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    assert re.search(r"dataset: \d+ rows accepted, 0 rejected", run.stdout)
    assert re.search(r"held-out chrF\+\+: \d", run.stdout)
    answers = re.findall(r"^(\S+\.(?:task|litertlm)): (.+) \(model\)$", run.stdout, flags=re.M)
    assert {Path(name).suffix for name, _ in answers} == {".task", ".litertlm"}
    assert all(answer.strip() for _, answer in answers)
    assert len({answer for _, answer in answers}) == 1  # both bundles give the same answer
    for sub in ("data", "adapter", "model", "export", "dist"):
        assert (work / sub).is_dir(), sub
