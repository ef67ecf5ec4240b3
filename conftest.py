"""Session fixtures shared by the tests of every tmz package (each one built once, in tmp_path_factory)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_text_base(tmp_path_factory) -> Path:
    """An untrained tiny Gemma 3 text checkpoint (backend "tiny") with its tokenizer and model manifest."""
    from tmz.train.tiny import build_tiny

    out = tmp_path_factory.mktemp("tiny") / "text-base"
    build_tiny(out)
    return out


@pytest.fixture(scope="session")
def tiny_vision_base(tmp_path_factory) -> Path:
    """An untrained tiny Gemma 3 image + text checkpoint (backend "tiny-vision"), processor included."""
    from tmz.train.tiny import build_tiny

    out = tmp_path_factory.mktemp("tiny") / "vision-base"
    build_tiny(out, vision=True)
    return out


@pytest.fixture(scope="session")
def _tiny_text_memorised(tmp_path_factory):
    from tmz.train.memorise import build_memorised

    out = tmp_path_factory.mktemp("tiny") / "text-model"
    return out, build_memorised(out)[1]


@pytest.fixture(scope="session")
def _tiny_vision_memorised(tmp_path_factory):
    from tmz.train.memorise import build_memorised

    out = tmp_path_factory.mktemp("tiny") / "vision-model"
    return out, build_memorised(out, vision=True)[1]


@pytest.fixture(scope="session")
def tiny_text_model(_tiny_text_memorised) -> Path:
    """A merged tiny Gemma 3 text checkpoint (kind "model", backend "tiny") that answers `memorised_text_pairs`
    exactly under greedy decoding with the tmz-v1 prompt."""
    return _tiny_text_memorised[0]


@pytest.fixture(scope="session")
def memorised_text_pairs(_tiny_text_memorised) -> list:
    """`tmz.train.memorise.Pair(source Side, target Side, input text, answer)` items `tiny_text_model` knows."""
    return _tiny_text_memorised[1]


@pytest.fixture(scope="session")
def tiny_vision_model(_tiny_vision_memorised) -> Path:
    """A merged tiny Gemma 3 image + text checkpoint (backend "tiny-vision") that answers
    `memorised_image_pairs` exactly (greedy, causal attention, image normalisation in its manifest)."""
    return _tiny_vision_memorised[0]


@pytest.fixture(scope="session")
def memorised_image_pairs(_tiny_vision_memorised) -> list:
    """`Pair(None, target Side, image Path (RGB PNG, not plain white), answer)` items `tiny_vision_model` knows."""
    return _tiny_vision_memorised[1]


@pytest.fixture(scope="session")
def tiny_text_export(tiny_text_model, memorised_text_pairs, tmp_path_factory) -> Path:
    """int8 export (tmz-export; prefill 32, KV cache 128) of the memorised tiny text model, parity passing on its pairs (int8 tolerance)."""
    from tmz.export import export

    out = tmp_path_factory.mktemp("export") / "text-int8"
    export(tiny_text_model, out, quantization="int8", prefill_lengths=[32], kv_cache=128,
           prompts=memorised_text_pairs)  # fmt: skip
    return out


@pytest.fixture(scope="session")
def tiny_text_export_fp32(tiny_text_model, memorised_text_pairs, tmp_path_factory) -> Path:
    """fp32 export (prefill 32, KV cache 128) of the memorised tiny text model: the numerics under which parity
    must be exact (fp32 tolerance)."""
    from tmz.export import export

    out = tmp_path_factory.mktemp("export") / "text-fp32"
    export(tiny_text_model, out, quantization="fp32", prefill_lengths=[32], kv_cache=128,
           prompts=memorised_text_pairs)  # fmt: skip
    return out


@pytest.fixture(scope="session")
def tiny_vision_export(tiny_vision_model, memorised_image_pairs, tmp_path_factory) -> Path:
    """int8 export (tmz-export; vision encoder normalising pixels as trained) of the memorised tiny vision model,
    parity passing on its image pairs."""
    from tmz.export import export

    out = tmp_path_factory.mktemp("export") / "vision-int8"
    export(tiny_vision_model, out, quantization="int8", prefill_lengths=[32], kv_cache=128,
           prompts=memorised_image_pairs)  # fmt: skip
    return out


@pytest.fixture(scope="session")
def install_plugins(tmp_path_factory):
    """Factory: ``install_plugins("tmz-dialect-tarifit", ...)`` builds those distributions of ``plugins/`` into
    wheels (``uv build``) and installs them without dependencies into a fresh directory, which it returns: put
    it on ``sys.path`` or ``PYTHONPATH`` and the plugins are installed, with their real metadata."""
    plugins = Path(__file__).resolve().parent / "plugins"
    wheels: dict[str, Path] = {}
    sites: dict[tuple[str, ...], Path] = {}

    def wheel(dist: str) -> Path:
        if dist not in wheels:
            out = tmp_path_factory.mktemp(f"wheel-{dist}")
            subprocess.run(
                ["uv", "build", "--quiet", "--wheel", "-o", str(out), str(plugins / dist)], check=True
            )
            [wheels[dist]] = out.glob("*.whl")
        return wheels[dist]

    def install(*dists: str) -> Path:
        key = tuple(sorted(dists))
        if key not in sites:
            site = tmp_path_factory.mktemp("site")
            subprocess.run(
                ["uv", "pip", "install", "--quiet", "--no-deps", "--python", sys.executable, "--target", str(site),
                 *map(str, map(wheel, key))],
                check=True,
            )  # fmt: skip
            sites[key] = site
        return sites[key]

    return install


@pytest.fixture
def plugin_tmz(install_plugins):
    """Factory: ``plugin_tmz(dist, "train", "run", ...)`` runs the ``tmz`` CLI in a child process with the plugin
    distribution ``dist`` installed from its wheel (on ``PYTHONPATH``, ``TMZ_LOAD_PLUGINS`` unset), one torch
    thread (two threads waiting on each other on a shared CPU were measured 3.5x slower per step) and a wide
    terminal; asserts it exits 0 and returns the completed process."""
    import os

    from tmz.core.plugins import ENV_LOAD

    def run(dist: str, *args: str, timeout: int = 1800) -> subprocess.CompletedProcess:
        env = {
            **os.environ,
            "PYTHONPATH": str(install_plugins(dist)),
            "OMP_NUM_THREADS": "1",
            "COLUMNS": "200",
        }
        env.pop(ENV_LOAD, None)
        done = subprocess.run(
            [sys.executable, "-c", "from tmz.core.cli import main; main()", *args],
            capture_output=True, text=True, env=env, timeout=timeout,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        return done

    return run


@pytest.fixture
def example_config(tmp_path):
    """Factory: ``example_config("pipeline-tiny-gemma4.toml")`` copies that file of ``examples/`` into
    ``tmp_path/examples`` beside links to its corpus and configs, so its relative workdir lands in ``tmp_path``."""
    import shutil

    examples = Path(__file__).resolve().parent / "examples"

    def copy(name: str) -> Path:
        here = tmp_path / "examples"
        if not here.is_dir():
            here.mkdir()
            for part in ("corpus", "configs"):
                (here / part).symlink_to(examples / part)
        shutil.copy(examples / name, here)
        return here / name

    return copy


@pytest.fixture(scope="session")
def tiny_text_bundles(tiny_text_export, tmp_path_factory) -> dict[str, Path]:
    """The tiny text export bundled both ways by tmz.bundle: ``{"task": path, "litertlm": path}``; each file
    has its ``<file>.tmz-manifest.json`` beside it."""
    from tmz.bundle import bundle

    out = tmp_path_factory.mktemp("bundles") / "text"
    return {fmt: out / bundle(tiny_text_export, fmt, out).files[0].path for fmt in ("task", "litertlm")}


@pytest.fixture(scope="session")
def tiny_vision_bundle(tiny_vision_export, tmp_path_factory) -> Path:
    """The tiny vision export as a ``.litertlm`` (text model, vision encoder and adapter) with its manifest."""
    from tmz.bundle import bundle

    out = tmp_path_factory.mktemp("bundles") / "vision"
    return out / bundle(tiny_vision_export, "litertlm", out).files[0].path


@pytest.fixture(scope="session")
def example_dataset(tmp_path_factory) -> Path:
    """examples/corpus (phrases.csv and the sign images) prepared by tmz-data into a dataset directory."""
    from tmz.data import prepare

    corpus = Path(__file__).resolve().parent / "examples" / "corpus"
    out = tmp_path_factory.mktemp("example-dataset") / "data"
    prepare([corpus / "phrases.csv", corpus / "images" / "signs.jsonl"], out, progress=False)
    return out
