"""Every test that requests a model-converting session fixture is marked slow: ``pytest -m "not slow"`` runs none."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from .conftest import COLLECTED, REPORT_ENV, Collected

REPO = Path(__file__).resolve().parents[1]


def all_test_files(config) -> set[str]:
    return {
        p.relative_to(REPO).as_posix()
        for path in config.getini("testpaths")
        for p in (REPO / path).rglob("test_*.py")
        if ".venv" not in p.parts
    }


def whole_collection(config, tmp_path: Path) -> dict[str, Collected]:
    """This session's collected tests when it collected every test file, else a collection in a subprocess."""
    collected = config.stash[COLLECTED]
    if {nodeid.split("::")[0] for nodeid in collected} >= all_test_files(config):
        return collected
    report = tmp_path / "collected.json"
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"],
        cwd=REPO, env={**os.environ, REPORT_ENV: str(report)}, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return {k: Collected(**v) for k, v in json.loads(report.read_text(encoding="utf-8")).items()}


def test_converting_tests_are_marked_slow(request, tmp_path):
    collected = whole_collection(request.config, tmp_path)
    unmarked = {nodeid: c.converting for nodeid, c in collected.items() if c.converting and not c.slow}
    assert not unmarked, "these convert models: mark them slow (pytest.mark.slow)\n" + "\n".join(
        f"{nodeid}: {', '.join(fixtures)}" for nodeid, fixtures in sorted(unmarked.items())
    )
    # the check sees the fixtures: the end-to-end tests request them
    assert any(c.converting for c in collected.values())
