"""Both bundle formats run in LiteRT-LM's own CLI (`litert-lm run`, `litert-lm benchmark`) with its defaults:
no sampler flags, so the engine takes the sampler the bundle declares (a `.litertlm`) or its own (a `.task`)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tmz.bundle import inspect_bundle, read_embedded_manifest
from tmz.bundle.llm_params import LlmParameters
from tmz.core.plugins import get_registry
from tmz.core.prompt import instruction

pytestmark = pytest.mark.slow  # every test here uses a converted tiny model

litert_lm = pytest.importorskip("litert_lm")

CLI = Path(sys.executable).parent / "litert-lm"
#: What the CLI prints when the engine fails; it still exits 0 (run and benchmark catch every exception).
FAILURES = (
    "An error occurred",
    "Traceback",
    "Failed to generate content",
    "UNIMPLEMENTED",
    "INVALID_ARGUMENT",
)
#: The CLI peeks at a file's header for its default backend; it reads only .litertlm headers and says so for a
#: .task (on stdout) before falling back to the CPU, which is what it would pick anyway.
PEEK_WARNING = "Failed to inspect model metadata"


@pytest.fixture(scope="module")
def cli_bundles(tiny_text_bundles, tmp_path_factory) -> dict[str, Path]:
    """Copies of the shared bundles: the CLI leaves its XNNPACK cache beside the file it runs."""
    out = tmp_path_factory.mktemp("litert-lm-cli")
    return {fmt: Path(shutil.copy2(path, out / path.name)) for fmt, path in tiny_text_bundles.items()}


@pytest.fixture(scope="module")
def cli_env(tmp_path_factory) -> dict[str, str]:
    """An empty LiteRT-LM CLI home: no config.json (which could set a sampler) and no imported models."""
    return {**os.environ, "LITERT_LM_DIR": str(tmp_path_factory.mktemp("litert-lm-home"))}


def litert_lm_cli(env: dict[str, str], *args: str | Path) -> tuple[list[str], str]:
    """Run the CLI; its stdout lines (the .task peek warning left out) and its stderr, after checking that
    it exited 0 and printed no failure."""
    p = subprocess.run([str(CLI), *map(str, args)], capture_output=True, text=True, env=env,
                       stdin=subprocess.DEVNULL, timeout=300, check=False)  # fmt: skip
    report = f"litert-lm {' '.join(map(str, args))}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr[-4000:]}"
    assert p.returncode == 0, report
    assert not [f for f in FAILURES if f in p.stdout or f in p.stderr], report
    return [line for line in p.stdout.splitlines() if not line.startswith(PEEK_WARNING)], p.stderr


@pytest.mark.parametrize("fmt", ["task", "litertlm"])
def test_litert_lm_run_answers_the_memorised_prompts(cli_bundles, cli_env, memorised_text_pairs, fmt):
    """`--prompt` is sent as one user message, rendered by the bundle's own prompt templates (the Gemma turn
    format tmz trains with), so the greedy default sampler must give the memorised answers exactly."""
    registry = get_registry()
    for pair in memorised_text_pairs:
        prompt = instruction(registry, pair.source, pair.target, pair.input)
        lines, _ = litert_lm_cli(cli_env, "run", cli_bundles[fmt], "--prompt", prompt)
        assert lines == [pair.answer], (fmt, pair.input, lines)


@pytest.mark.parametrize("fmt", ["task", "litertlm"])
def test_litert_lm_benchmark_prefills_and_decodes(cli_bundles, cli_env, fmt):
    """The benchmark samples with the bundle's defaults too. Its default 256 prefill tokens exceed the tiny
    bundle's KV cache, so it prefills one signature's worth and decodes as many (sizes, not sampler flags)."""
    settings = read_embedded_manifest(cli_bundles[fmt]).settings
    tokens = str(settings.prefill_lengths[0])
    assert 2 * int(tokens) <= settings.kv_cache_max_len
    lines, _ = litert_lm_cli(cli_env, "benchmark", cli_bundles[fmt], "--prefill-tokens", tokens,
                             "--decode-tokens", tokens)  # fmt: skip
    speeds = {}
    for line in lines:
        name, _, value = line.partition(":")
        if name in ("Prefill speed", "Decode speed"):
            speeds[name] = float(value.split()[0])
    assert set(speeds) == {"Prefill speed", "Decode speed"}, lines
    assert all(v > 0 for v in speeds.values()), speeds


def test_written_sampler_is_the_type_litert_lm_implements(tiny_text_bundles):
    """The .litertlm declares TOP_P (greedy as k 1) and its manifest records just that; the .task declares none
    (LlmParameters has no sampler field), so LiteRT-LM takes its own default, TOP_P with k 1."""
    from google.protobuf.unknown_fields import UnknownFieldSet

    path = tiny_text_bundles["litertlm"]
    params = inspect_bundle(path).llm["sampler_params"]
    assert params["type"] == "TOP_P" and params["k"] == 1
    recorded = read_embedded_manifest(path).settings.sampler
    assert recorded.type == "top_p"
    assert (recorded.top_k, recorded.top_p, recorded.temperature) == (
        params["k"], params.get("p", 0.0), params.get("temperature", 0.0)
    )  # fmt: skip
    with litert_lm.ModelInfo(str(path)) as info:  # the engine's own reading of the file
        engine = info.llm.default_sampler_params
    assert (engine.top_k, engine.top_p, engine.temperature) == (1, recorded.top_p, recorded.temperature)

    task = tiny_text_bundles["task"]
    metadata = LlmParameters.FromString(inspect_bundle(task).section("METADATA").read(task))
    assert len(UnknownFieldSet(metadata)) == 0
    assert read_embedded_manifest(task).settings.sampler is None
