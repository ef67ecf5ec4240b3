"""QLoRA on CPU (bitsandbytes' CPU backend): NF4 training learns, resumes, trains the vision backend and
modules_to_save; every merge measures its fidelity to the trained model, into either base."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from trl import SFTTrainer

from tmz.core.cli import cli
from tmz.core.errors import ConfigError
from tmz.core.manifest import load_manifest
from tmz.train.config import TrainConfig, load_config
from tmz.train.evaluation import evaluate
from tmz.train.memorise import (
    IMAGE_PAIRS,
    MEMORISE_CONFIG,
    TEXT_PAIRS,
    ZGH_TFNG,
    Pair,
    draw_image,
    write_pairs,
)
from tmz.train.merging import MergeError, merge
from tmz.train.model import Hardware
from tmz.train.sft import finetune, prepare_run

BNB = importlib.metadata.version("bitsandbytes")
#: memorise's recipe under NF4, evaluated never (eval_steps beyond the cap), checked every 10 steps.
QLORA = {**MEMORISE_CONFIG, "lora.quantization": "nf4", "training.max_steps": 150}


def cli_sets(config: dict) -> list[str]:
    """``--set key=value`` (TOML values) for every setting but those left at None."""
    return [a for k, v in config.items() if v is not None for a in ("--set", f"{k}={json.dumps(v)}")]


@pytest.fixture(scope="module")
def text_data(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("data") / "text"
    write_pairs(out, list(TEXT_PAIRS))
    return out


@pytest.fixture(scope="module")
def qlora_adapter(text_data, tiny_text_base, tmp_path_factory) -> tuple[Path, str]:
    """An NF4 adapter trained through `tmz train run --quantization nf4` until it recalls every pair."""
    out = tmp_path_factory.mktemp("qlora") / "adapter"
    settings = {k: v for k, v in QLORA.items() if k not in ("lora.quantization", "data.eval_split")}
    args = ["train", "run", str(text_data), "--backend", "tiny", "--out", str(out), "--base", str(tiny_text_base),
            "--quantization", "nf4", *cli_sets({**settings, "training.eval_steps": 10_000})]  # fmt: skip
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    return out, result.output


def test_qlora_learns_the_pairs_on_cpu(qlora_adapter):
    out, output = qlora_adapter
    manifest = load_manifest(out, expect_kind="adapter")
    hw = manifest.settings.hardware
    assert (hw.device, hw.quantization, hw.bitsandbytes, hw.optim) == ("cpu", "nf4", BNB, "paged_adamw_8bit")
    assert hw.compute_dtype in ("bfloat16", "float32") and f"quantization nf4, bitsandbytes {BNB}" in output
    assert TrainConfig.model_validate(manifest.settings.config).lora.quantization == "nf4"
    learned, recall = manifest.results.learned, manifest.results.recall
    assert learned.reached and manifest.results.global_step < 150
    assert recall.exact == recall.rows == len(TEXT_PAIRS)
    assert "quantization" not in manifest.settings.lora.model_dump()  # the record says it once, in hardware


def test_the_base_trains_in_4bit(text_data, tiny_text_base, tmp_path):
    import bitsandbytes as bnb

    run = prepare_run(text_data, backend="tiny", out=tmp_path / "a", base=tiny_text_base, overrides=QLORA)
    layers = [m for m in run.trainer.model.modules() if isinstance(m, bnb.nn.Linear4bit)]
    assert layers and all(m.weight.quant_type == "nf4" and m.weight.quant_state.nested for m in layers)
    assert run.trainer.args.optim == "paged_adamw_8bit"


def test_merge_fidelity_into_either_base(qlora_adapter, text_data, tmp_path):
    """Merged into the dequantized NF4 weights the model computes what was trained; into the original weights it
    differs by the quantization error. Both records say so, and both still answer every pair."""
    adapter, _ = qlora_adapter
    default = merge(adapter, tmp_path / "dequantized")
    original = merge(adapter, tmp_path / "original", base="original")
    assert default.settings.merged.weights == "dequantized" and original.settings.merged.weights == "original"
    assert default.settings.merged.quantization == "nf4"
    for m in (default, original):
        f = m.results.fidelity
        assert f.reference == "nf4 base + adapter" and f.weights == m.settings.merged.weights
        assert [(s.split, s.held_out, s.prompts) for s in f.splits] == [
            ("train", False, 4),
            ("test", True, 4),
        ]
        assert f.prompts == 8 and f.max_abs_delta >= f.mean_abs_delta >= 0
    d, o = default.results.fidelity, original.results.fidelity
    assert (
        d.exact == d.prompts
        and d.max_abs_delta < 0.05 < o.max_abs_delta
        and d.mean_abs_delta < o.mean_abs_delta
    )
    config = json.loads((tmp_path / "dequantized" / "config.json").read_text(encoding="utf-8"))
    assert "quantization_config" not in config  # a plain checkpoint for the exporter
    assert evaluate(tmp_path / "dequantized", text_data).overall.exact == 1.0
    result = CliRunner().invoke(cli, ["train", "merge", str(adapter), "--out", str(tmp_path / "cli"),
                                      "--base", "original"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (
        "original weights" in result.output
        and "fidelity to the trained model (nf4 base + adapter)" in result.output
    )


def test_merge_needs_its_dataset(qlora_adapter, tmp_path):
    adapter, _ = qlora_adapter
    moved = tmp_path / "moved" / "deeper" / "adapter"  # its dataset is no longer where the manifest says
    shutil.copytree(adapter, moved)
    with pytest.raises(MergeError, match="--dataset DIR"):
        merge(moved, tmp_path / "model")
    with pytest.raises(MergeError, match="merge base 'nf4'"):
        merge(adapter, tmp_path / "model", base="nf4")
    assert not (tmp_path / "model").exists()


def test_a_crashed_qlora_run_resumes(text_data, tiny_text_base, tmp_path, monkeypatch):
    """The run dies in step 4, after checkpoint-2 (NF4 base, paged 8-bit optimizer state); the same call again
    resumes from it and trains steps 3 and 4 only."""
    out = tmp_path / "adapter"
    cfg = {**QLORA, "training.learned_margin": None, "training.max_steps": 4, "training.save_steps": 2,
           "training.logging_steps": 1}  # fmt: skip
    step = SFTTrainer.training_step

    def dies_in_step_4(self, *args, **kwargs):
        if self.state.global_step == 3:
            raise KeyboardInterrupt("killed")
        return step(self, *args, **kwargs)

    monkeypatch.setattr(SFTTrainer, "training_step", dies_in_step_4)
    with pytest.raises(KeyboardInterrupt):
        finetune(text_data, backend="tiny", out=out, base=tiny_text_base, overrides=cfg)
    assert not out.exists()
    checkpoint = tmp_path / "adapter.work" / "checkpoints" / "checkpoint-2"
    assert (checkpoint / "optimizer.pt").is_file()
    monkeypatch.setattr(SFTTrainer, "training_step", step)
    manifest = finetune(text_data, backend="tiny", out=out, base=tiny_text_base, overrides=cfg)
    assert manifest.results.resumed_from == "checkpoint-2" and manifest.results.global_step == 4
    assert [h.step for h in manifest.results.loss_history] == [1, 2, 3, 4]
    assert manifest.settings.hardware.quantization == "nf4"


@pytest.mark.slow
def test_vision_backend_trains_under_qlora(tiny_vision_base, tmp_path):
    images = [
        (draw_image(tmp_path / f"{name}.png", ground, ink), answer)
        for name, ground, ink, answer in IMAGE_PAIRS
    ]
    data = tmp_path / "data"
    write_pairs(data, [Pair(None, ZGH_TFNG, image, answer) for image, answer in images])
    manifest = finetune(data, backend="tiny-vision", out=tmp_path / "adapter", base=tiny_vision_base,
                        overrides={**QLORA, "training.max_steps": 200})  # fmt: skip
    assert (
        manifest.settings.hardware.quantization == "nf4" and manifest.settings.image_normalisation is not None
    )
    assert manifest.results.learned.reached and manifest.results.recall.exact == len(IMAGE_PAIRS)
    merged = merge(tmp_path / "adapter", tmp_path / "model")
    assert merged.results.fidelity.exact == merged.results.fidelity.prompts == 2 * len(IMAGE_PAIRS)


@pytest.mark.slow
def test_modules_to_save_under_qlora(text_data, tiny_text_base, tmp_path):
    """Full copies of the (tied) embeddings train beside the LoRA of an NF4 base and survive the merge."""
    cfg = {**QLORA, "lora.modules_to_save": ["lm_head", "embed_tokens"]}
    manifest = finetune(
        text_data, backend="tiny", out=tmp_path / "adapter", base=tiny_text_base, overrides=cfg
    )
    assert manifest.settings.lora.modules_to_save == ["lm_head", "embed_tokens"]
    assert manifest.results.recall.exact == len(TEXT_PAIRS)
    from safetensors import safe_open

    with safe_open(tmp_path / "adapter" / "adapter_model.safetensors", "pt") as f:
        assert any("embed_tokens" in k for k in f.keys())  # noqa: SIM118
    merged = merge(tmp_path / "adapter", tmp_path / "model")
    assert merged.results.fidelity.exact == merged.results.fidelity.prompts
    assert evaluate(tmp_path / "model", text_data).overall.exact == 1.0


def test_nf4_without_bitsandbytes_names_the_extra(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "bitsandbytes" else real(name, *a)
    )
    training = load_config(None).training
    with pytest.raises(ConfigError, match=r"pip install 'tmz-train\[qlora\]'.*lora.quantization = \"none\""):
        Hardware.detect(training, "nf4")
    # the CPU default: plain LoRA, no bitsandbytes needed
    assert Hardware.detect(training, "auto").quantization == "none"


def test_quantization_setting_and_its_old_place(tmp_path):
    assert load_config(None).lora.quantization == "auto"
    old = tmp_path / "old.toml"
    old.write_text('[training]\nquantization = "nf4"\noptim = "paged_adamw_8bit"\n', encoding="utf-8")
    cfg = load_config(old)  # tmz-train 0.2's "nf4": NF4 on CUDA, plain LoRA on CPU
    assert cfg.lora.quantization == "auto" and "quantization" not in cfg.training.model_dump()
    assert load_config(None, {"training.quantization": "none"}).lora.quantization == "none"
    assert load_config(None, ["lora.quantization=nf4"]).lora.quantization == "nf4"
    with pytest.raises(ConfigError, match="lora.quantization"):
        load_config(None, {"lora.quantization": "int4"})
    hw = Hardware.detect(load_config(None).training, "nf4")
    assert (hw.quantization, hw.optim, hw.bitsandbytes) == ("nf4", "paged_adamw_8bit", BNB)
    assert Hardware.detect(load_config(None).training, "none").optim == "adamw_torch"
