"""`pip install tmz-pipeline` outside any checkout: the wheel carries the example corpus and the demo's data
stage runs from an empty directory (the wheels the data stage needs, in a fresh virtual environment); the whole
demo runs from the wheels of every distribution it needs, offline.

The data stage's test is not marked slow: about 6 s with uv's cache warm, 15 s cold (the dependencies come from
the cache, else the index). The whole demo's is (it trains and converts: about 3 min).
"""

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import time
import zipfile
from pathlib import Path

import pytest
from tmz_offline import offline_env

from tmz.core.manifest import MANIFEST_NAME, load_manifest

ROOT = Path(__file__).resolve().parents[3]
#: what `tmz demo --until prepare` imports (tmz-export: its ExportOptions, which the pipeline configuration embeds)
PACKAGES = ("tmz-core", "tmz-data", "tmz-export", "tmz-publish", "tmz-pipeline")
#: what the whole `tmz demo` needs: tmz-pipeline and its dependencies among tmz's distributions
DEMO_PACKAGES = (*PACKAGES, "tmz-train", "tmz-bundle", "tmz-runtime")
#: the tmz modules the demo runs, each to be found in the virtual environment's site-packages
DEMO_MODULES = (
    "tmz.core",
    "tmz.data",
    "tmz.train",
    "tmz.export",
    "tmz.bundle",
    "tmz.runtime",
    "tmz.pipeline",
)


def _uv(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    run = subprocess.run(["uv", *args], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0 or not check, run.stderr[-3000:]
    return run


def _install(python: Path, *args: str) -> None:
    """From uv's cache when it holds everything (no network), else from the index."""
    if _uv("pip", "install", "--python", str(python), "--offline", *args, check=False).returncode:
        _uv("pip", "install", "--python", str(python), *args)


def _build(wheels: Path, packages: tuple[str, ...]) -> dict[str, Path]:
    """The wheels of ``packages``, keyed by their file names' first part (``tmz_core``)."""
    for name in packages:
        _uv("build", "--wheel", "--package", name, "--out-dir", str(wheels), "--offline")
    return {w.name.split("-")[0]: w for w in wheels.glob("*.whl")}


def _link(src: str, dst: str) -> None:
    """A hard link (no copy of the workspace's gigabytes), or a symbolic one across file systems."""
    try:
        os.link(src, dst)
    except OSError:
        os.symlink(src, dst)


def _env_of_the_workspace_without_tmz(venv: Path) -> Path:
    """A fresh virtual environment holding the workspace's third-party packages (hard-linked) and nothing of
    tmz: no distribution, no editable path. uv's cache cannot install them offline (it revalidates each cached
    wheel with its index), and this test must not download."""
    _uv("venv", str(venv), "--python", sys.executable, "--offline")
    site = venv / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        if (
            entry.name.startswith(("tmz", "_editable_impl_tmz", "__editable__"))
            or entry.name == "__pycache__"
        ):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.copytree(entry, site / entry.name, symlinks=True, copy_function=_link, dirs_exist_ok=True)
        elif not (site / entry.name).exists():
            _link(str(entry), str(site / entry.name))
    return site


@pytest.mark.skipif(shutil.which("uv") is None, reason="needs uv")
def test_demo_data_stage_runs_from_the_installed_wheels(tmp_path):
    start = time.perf_counter()
    wheel = _build(tmp_path / "wheels", PACKAGES)
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


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("uv") is None, reason="needs uv")
def test_the_whole_demo_runs_offline_from_the_installed_wheels(tmp_path):
    """The wheels of tmz-pipeline and of every tmz distribution it depends on, installed into a virtual
    environment that holds the workspace's third-party packages and nothing of tmz: their requirements are all
    met (`uv pip check`), tmz's code is the wheels' (in site-packages, not the checkout), and `tmz demo` runs
    to the end from an empty directory with the network blocked and CUDA hidden, both bundles answering."""
    start = time.perf_counter()
    wheel = _build(tmp_path / "wheels", DEMO_PACKAGES)
    venv = tmp_path / "venv"
    site = _env_of_the_workspace_without_tmz(venv)
    python = venv / "bin" / "python"
    _uv("pip", "install", "--python", str(python), "--offline", "--no-deps", *map(str, wheel.values()))
    check = _uv("pip", "check", "--python", str(python), check=False)
    assert check.returncode == 0, check.stdout + check.stderr  # e.g. a tmz version a dependency refuses

    empty = tmp_path / "empty"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env = offline_env(env | {"COLUMNS": "250", "CUDA_VISIBLE_DEVICES": ""})  # no network, no GPU
    where = f"import importlib\nfor m in {DEMO_MODULES}: print(importlib.import_module(m).__file__)"
    files = subprocess.run([str(python), "-c", where], cwd=empty, capture_output=True, text=True, env=env,
                           timeout=120)  # fmt: skip
    assert files.returncode == 0, files.stderr[-3000:]
    assert len(files.stdout.split()) == len(DEMO_MODULES)
    assert all(Path(f).is_relative_to(site) for f in files.stdout.split()), files.stdout  # not the checkout's

    run = subprocess.run([str(venv / "bin" / "tmz"), "demo", "--workdir", "w"], cwd=empty, capture_output=True,
                         text=True, env=env, timeout=1800)  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    work = empty / "w"
    assert "✓ translate " in run.stderr and "learned: " in run.stdout, run.stdout[-3000:]
    answers = [line for line in run.stdout.splitlines() if re.match(r"│ \.(task|litertlm)\s", line)]
    for fmt in ("task", "litertlm"):  # each bundle is in dist/ and answers a learned phrase as trained
        (sidecar,) = (work / "dist").glob(f"*.{fmt}.{MANIFEST_NAME}")
        bundle = load_manifest(sidecar, expect_kind="bundle")
        assert (work / "dist" / bundle.files[0].path).stat().st_size > 100_000
        assert any(line.startswith(f"│ .{fmt} ") and "│ = " in line for line in answers), run.stdout[-3000:]
    print(f"built, installed and ran the whole demo in {time.perf_counter() - start:.1f} s")
