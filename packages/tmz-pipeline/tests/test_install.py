"""`pip install tmz-pipeline` outside any checkout: the wheel carries the example corpus and the demo's data
stage runs from an empty directory (the wheels the data stage needs, in a fresh virtual environment).

Not marked slow: about 6 s with uv's cache warm, 15 s cold (the dependencies come from the cache, else the index).
"""

import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
#: what `tmz demo --until prepare` imports (tmz-export: its ExportOptions, which the pipeline configuration embeds)
PACKAGES = ("tmz-core", "tmz-data", "tmz-export", "tmz-publish", "tmz-pipeline")


def _uv(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    run = subprocess.run(["uv", *args], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0 or not check, run.stderr[-3000:]
    return run


def _install(python: Path, *args: str) -> None:
    """From uv's cache when it holds everything (no network), else from the index."""
    if _uv("pip", "install", "--python", str(python), "--offline", *args, check=False).returncode:
        _uv("pip", "install", "--python", str(python), *args)


@pytest.mark.skipif(shutil.which("uv") is None, reason="needs uv")
def test_demo_data_stage_runs_from_the_installed_wheels(tmp_path):
    start = time.perf_counter()
    wheels = tmp_path / "wheels"
    for name in PACKAGES:
        _uv("build", "--wheel", "--package", name, "--out-dir", str(wheels), "--offline")
    wheel = {w.name.split("-")[0]: w for w in wheels.glob("*.whl")}
    assert {"tmz/pipeline/data/phrases.csv", "tmz/pipeline/data/README.md"} <= set(
        zipfile.ZipFile(wheel["tmz_pipeline"]).namelist()
    )
    # the workspace's versions of the data stage's dependencies (already in uv's cache)
    frozen = _uv("pip", "freeze", "--python", sys.executable).stdout.splitlines()
    constraints = tmp_path / "constraints.txt"
    constraints.write_text("\n".join(line for line in frozen if "==" in line and not line.startswith("tmz")))
    venv = tmp_path / "venv"
    _uv("venv", str(venv), "--python", sys.executable, "--offline")
    python = venv / "bin" / "python"
    _install(
        python,
        "-c",
        str(constraints),
        str(wheel["tmz_core"]),
        str(wheel["tmz_data"]),
        str(wheel["tmz_publish"]),
    )
    # without their dependencies: tmz-train/-export's torch is not needed here (tmz-export's options import none)
    _install(python, "--no-deps", str(wheel["tmz_export"]), str(wheel["tmz_pipeline"]))

    empty = tmp_path / "empty"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")} | {"COLUMNS": "200"}
    run = subprocess.run([str(venv / "bin" / "tmz"), "demo", "--until", "prepare", "--workdir", "w"], cwd=empty,
                         capture_output=True, text=True, env=env, timeout=300)  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    assert "✓ prepare" in run.stderr and "│ prepare" in run.stdout
    assert (empty / "w" / "data" / "tmz-manifest.json").is_file() and (
        empty / "w" / "logs" / "prepare.log"
    ).is_file()
    where = subprocess.run([str(python), "-c", "from tmz.pipeline.demo import find_corpus; print(find_corpus())"],
                           cwd=empty, capture_output=True, text=True, env=env, timeout=60)  # fmt: skip
    assert Path(where.stdout.strip()).is_relative_to(venv), where  # the packaged copy, not the checkout's
    print(f"built, installed and ran the data stage in {time.perf_counter() - start:.1f} s")
