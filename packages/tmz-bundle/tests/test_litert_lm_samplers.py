"""A probe of LiteRT-LM itself: the sampler types it does not implement (tmz-bundle README "GREEDY and TOP_K
fail UNIMPLEMENTED", tmz.bundle.metadata.SAMPLER_TYPE). A `.litertlm` of the tiny export is written declaring
GREEDY or TOP_K instead of TOP_P and run with `litert-lm run`; should a LiteRT-LM release implement one, this
test fails, and tmz can write that type instead of greedy-as-TOP_P-with-k-1."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from litert_lm_builder.runtime.proto import sampler_params_pb2

from tmz.bundle import build, bundle
from tmz.core.plugins import get_registry
from tmz.core.prompt import instruction

pytestmark = pytest.mark.slow  # the bundles are the converted tiny model's

pytest.importorskip("litert_lm")
CLI = Path(sys.executable).parent / "litert-lm"

Type = sampler_params_pb2.SamplerParameters


def declaring(monkeypatch, sampler_type: int):
    """Make build.llm_metadata write ``sampler_type`` into the bundle's LlmMetadata (everything else as tmz)."""
    original = build.llm_metadata

    def llm_metadata(*args, **kwargs):
        md = original(*args, **kwargs)
        md.sampler_params.type = sampler_type
        return md

    monkeypatch.setattr(build, "llm_metadata", llm_metadata)


def litert_lm_run(home: Path, path: Path, prompt: str) -> tuple[str, str]:
    """``litert-lm run`` with an empty home (no config.json that could set a sampler): its stdout and stderr.
    It exits 0 even when the engine fails (test_litert_lm_cli.py), so the text is what tells."""
    env = {**os.environ, "LITERT_LM_DIR": str(home)}
    p = subprocess.run([str(CLI), "run", str(path), "--prompt", prompt], capture_output=True, text=True, env=env,
                       stdin=subprocess.DEVNULL, timeout=300, check=False)  # fmt: skip
    return p.stdout, p.stderr


@pytest.mark.parametrize(("name", "number"), [("GREEDY", 3), ("TOP_K", 1), ("TOP_P", 2)])
def test_litert_lm_implements_only_the_top_p_sampler(
    tiny_text_export, memorised_text_pairs, tmp_path, monkeypatch, name, number
):
    """TOP_P is the control: the same file with the type tmz writes answers the memorised prompt."""
    assert Type.Type.Value(name) == number
    declaring(monkeypatch, number)
    manifest = bundle(tiny_text_export, "litertlm", tmp_path / "dist")
    path = tmp_path / "dist" / manifest.files[0].path
    pair = memorised_text_pairs[0]
    prompt = instruction(get_registry(), pair.source, pair.target, pair.input)
    (tmp_path / "home").mkdir()
    stdout, stderr = litert_lm_run(tmp_path / "home", path, prompt)
    unimplemented = f"UNIMPLEMENTED: Sampler type: {number} not implemented yet"
    if name == "TOP_P":
        assert "UNIMPLEMENTED" not in stdout + stderr, stderr[-4000:]
        assert pair.answer in stdout.splitlines(), stdout
    else:
        assert unimplemented in stdout + stderr, (stdout, stderr[-4000:])
        assert pair.answer not in stdout.splitlines(), stdout
