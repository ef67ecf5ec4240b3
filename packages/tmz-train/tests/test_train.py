"""Fine-tune, evaluate and merge on tiny models (CPU): label masking, memorisation, resume, errors."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from transformers import AutoModelForCausalLM, AutoTokenizer

from tmz.core.cli import cli
from tmz.core.dataset import SPLITS, read_split
from tmz.core.errors import ConfigError, DataError, ManifestError
from tmz.core.kinds.model import Vocabulary
from tmz.core.manifest import find_parent, load_manifest
from tmz.core.scoring import Evaluation, score
from tmz.train.config import load_config
from tmz.train.evaluation import evaluate
from tmz.train.memorise import IMAGE_PAIRS, TEXT_PAIRS, ZGH_TFNG, Pair, draw_image, write_pairs
from tmz.train.merging import reconcile_vocab
from tmz.train.sft import finetune, prepare_run
from tmz.train.vision import VisionCollator

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "configs"
FAST = {"training.gradient_checkpointing": False, "training.save_steps": 10_000, "eval.after_training": False,
        "training.per_device_batch_size": 4, "training.gradient_accumulation_steps": 1}  # fmt: skip


@pytest.fixture(scope="module")
def text_data(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("data") / "text"
    write_pairs(out, list(TEXT_PAIRS))
    return out


def test_memorised_dataset_is_a_core_dataset(text_data, tmp_path):
    """memorise writes through tmz.core.dataset: every split holds every pair, read back by the core reader, and
    an image part carries no "text" key in jsonl/."""
    manifest = load_manifest(text_data, expect_kind="dataset")
    assert manifest.settings.memorised and manifest.results.rows.accepted == manifest.results.rows.read == 4
    assert manifest.results.examples.by_split == {s: len(TEXT_PAIRS) for s in SPLITS}
    assert [e.target_text for e in read_split(text_data, "test")] == [p.answer for p in TEXT_PAIRS]
    image = draw_image(tmp_path / "sign.png", *IMAGE_PAIRS[0][1:3])
    write_pairs(tmp_path / "vision", [Pair(None, ZGH_TFNG, image, IMAGE_PAIRS[0][3])])
    (row,) = read_split(tmp_path / "vision", "train")
    assert row.direction == "und_Zyyy->zgh_Tfng" and row.modality == "image" and row.source_text is None
    assert (tmp_path / "vision" / row.image).read_bytes() == image.read_bytes()
    line = json.loads((tmp_path / "vision" / "jsonl" / "train.jsonl").read_text(encoding="utf-8"))
    assert line["messages"][0]["content"][0] == {"type": "image"}


def test_labels_mask_the_prompt(text_data, tiny_text_base, tmp_path):
    run = prepare_run(text_data, backend="tiny", out=tmp_path / "a", base=tiny_text_base,
                      overrides={**FAST, "training.packing": False})  # fmt: skip
    tok = AutoTokenizer.from_pretrained(tiny_text_base)
    row = run.trainer.train_dataset[0]
    kept = [t for t in row["labels"] if t != -100]
    pair = TEXT_PAIRS[0]
    assert kept == tok(pair.answer + "<end_of_turn>\n", add_special_tokens=False)["input_ids"]
    assert row["input_ids"][-len(kept) :] == kept and row["input_ids"][0] == tok.bos_token_id
    batch = run.trainer.data_collator([run.trainer.train_dataset[i] for i in range(2)])
    assert (batch["labels"] != -100).sum() < (batch["input_ids"] != tok.pad_token_id).sum() / 2


def test_packing_is_padding_free(text_data, tiny_text_base, tmp_path):
    run = prepare_run(text_data, backend="tiny", out=tmp_path / "a", base=tiny_text_base, overrides=FAST)
    ds = run.trainer.train_dataset
    assert len(ds) == 1 and len(ds[0]["seq_lengths"]) == len(TEXT_PAIRS)  # four rows in one sequence
    batch = run.trainer.data_collator([ds[0]])
    assert "attention_mask" not in batch and (batch["position_ids"][0] == 0).sum() == len(TEXT_PAIRS)


def test_vision_collator_masks_prompt_and_image(tiny_vision_base, tmp_path):
    from tmz.core.plugins import get_registry
    from tmz.core.prompt import messages
    from tmz.train.model import load_processing

    proc = load_processing(str(tiny_vision_base), vision=True)
    image = draw_image(tmp_path / "x.png", *IMAGE_PAIRS[0][1:3])
    conv = messages(get_registry(), None, ZGH_TFNG, None, "ⴰⵎⴰⵏ")
    text_conv = messages(get_registry(), Pair(*TEXT_PAIRS[0]).source, ZGH_TFNG, "Good morning", "ⵜⵉⴼⴰⵡⵉⵏ")
    batch = VisionCollator(proc)(
        [{"messages": conv, "image": str(image)}, {"messages": text_conv, "image": None}]
    )
    assert "token_type_ids" not in batch and batch["pixel_values"].shape[0] == 1
    image_id = proc.tokenizer.image_token_id
    assert (batch["input_ids"][0] == image_id).sum() == 16
    assert not ((batch["input_ids"] == image_id) & (batch["labels"] != -100)).any()
    answer = proc.tokenizer("ⴰⵎⴰⵏ<end_of_turn>\n", add_special_tokens=False)["input_ids"]
    assert [t for t in batch["labels"][0].tolist() if t != -100] == answer


@pytest.mark.slow
def test_memorised_model_after_merge(tiny_text_model, memorised_text_pairs, tmp_path):
    manifest = load_manifest(tiny_text_model, expect_kind="model")
    assert manifest.backend == "tiny" and manifest.parent.kind == "adapter"
    adapter = find_parent(manifest, tiny_text_model)
    assert adapter == tiny_text_model.with_name(tiny_text_model.name + ".memorise").resolve() / "adapter"
    assert {p.name for p in tiny_text_model.iterdir() if p.suffix in (".bin", ".pt")} == set()
    merged = manifest.settings.merged
    assert merged.vocab.vocab_size == 512 and merged.dtype == "float32" and merged.dialect_mode == "joint"
    assert merged.lora == load_manifest(adapter).settings.lora and manifest.settings.tiny is None
    fidelity = manifest.results.fidelity  # plain LoRA: merged, it computes what was trained
    assert merged.weights == "original" and fidelity.reference == "base + adapter" and fidelity.prompts == 8
    assert fidelity.exact == fidelity.prompts and fidelity.max_abs_delta < 1e-3
    data = tmp_path / "data"
    write_pairs(data, memorised_text_pairs)
    report = evaluate(tiny_text_model, data, predictions=tmp_path / "pred.jsonl")
    assert report.split == "test" and report.overall.rows == len(memorised_text_pairs)
    assert report.overall.exact == 1.0 and report.overall.chrf == 100.0
    assert set(report.by_direction) == {
        "en_Latn->zgh_Tfng", "fr_Latn->zgh_Latn", "zgh_Tfng->en_Latn"}  # fmt: skip
    assert set(report.by_script) == {"Tfng", "Latn"} and set(report.by_dialect) == {"zgh"}
    assert set(report.by_modality) == {"text"} and report.by_modality["text"].cer is None
    assert len((tmp_path / "pred.jsonl").read_text(encoding="utf-8").splitlines()) == len(
        memorised_text_pairs
    )


@pytest.mark.slow
def test_merged_model_names_its_tokenizer_bare_and_its_template_has_no_generation_markers(tiny_text_model):
    """The merged checkpoint's ``vocab_file`` is the bare name ``tokenizer.model`` (never a machine path), and
    its ``chat_template.jinja`` carries no ``{% generation %}`` block: the template exported is the one
    LiteRT-LM runs, and the loss mask comes from TRL's prompt/completion split instead."""
    config = json.loads((tiny_text_model / "tokenizer_config.json").read_text(encoding="utf-8"))
    assert config["vocab_file"] == "tokenizer.model"
    tok = AutoTokenizer.from_pretrained(tiny_text_model)
    assert tok.vocab_file == "tokenizer.model"
    template = (tiny_text_model / "chat_template.jinja").read_text(encoding="utf-8")
    assert template == tok.chat_template and "add_generation_prompt" in template
    assert not re.search(r"\{%-?\s*(end)?generation\s*-?%\}", template)


@pytest.mark.slow
def test_memorised_vision_model(tiny_vision_model, memorised_image_pairs, tmp_path):
    manifest = load_manifest(tiny_vision_model, expect_kind="model")
    assert manifest.settings.image_normalisation.image_mean == [0.5, 0.5, 0.5]
    data = tmp_path / "data"
    write_pairs(data, memorised_image_pairs)
    report = evaluate(tiny_vision_model, data)
    assert report.overall.exact == 1.0 and report.by_modality["image"].cer == 0.0
    assert report.by_modality["image"].rows == len(memorised_image_pairs)


def test_untrained_model_scores_low(tiny_text_base, tmp_path):
    data = tmp_path / "data"
    write_pairs(data, list(TEXT_PAIRS))
    report = evaluate(tiny_text_base, data, overrides={"eval.max_new_tokens": 8})
    assert report.overall.exact == 0.0 and report.overall.rows == len(TEXT_PAIRS)
    result = CliRunner().invoke(cli, ["train", "eval", str(tiny_text_base), str(data), "--json",
                                      str(tmp_path / "report.json"), "--set", "eval.max_new_tokens=8"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "tmz evaluation" in result.output and "direction: en_Latn->zgh_Tfng" in result.output
    assert Evaluation.model_validate_json((tmp_path / "report.json").read_text(encoding="utf-8")) == report


#: ``tmz train`` with each checkpoint save reported on stdout once complete; with PARK_AFTER=N it parks (sleeps)
#: when about to save past step N, so that a kill lands after the trained steps and between two saves.
TRAIN_REPORTING_SAVES = """
import os, sys, time
from trl import SFTTrainer
from tmz.core.cli import cli

save, park = SFTTrainer._save_checkpoint, int(os.environ.get("PARK_AFTER", "0"))


def reported(self, model, trial):
    if park and self.state.global_step > park:
        print(f"parked at step {self.state.global_step}", flush=True)
        time.sleep(600)
    save(self, model, trial)
    print(f"saved checkpoint-{self.state.global_step}", flush=True)


SFTTrainer._save_checkpoint = reported
cli(["train", *sys.argv[1:]], prog_name="tmz")
"""


@pytest.mark.slow
def test_resume_after_kill_under_accelerate_launch(text_data, tiny_text_base, tmp_path):
    """A run killed with SIGKILL two steps after its last complete checkpoint leaves no adapter; the same
    command under `accelerate launch` (the multi-GPU entry point, here its CPU configuration) resumes from that
    checkpoint: it trains only the steps after it and keeps the killed run's loss history. Then, with
    ``eval.after_training`` on (the default), it scores the test split into the adapter's ``results.eval``:
    the figures are those of the adapter's own answers, scored again here by tmz.core.scoring."""
    out = tmp_path / "adapter"
    args = ["run", str(text_data), "--backend", "tiny", "--out", str(out), "--base", str(tiny_text_base),
            "--set", "training.save_steps=2", "--set", "training.logging_steps=1",
            "--set", "training.gradient_checkpointing=false", "--set", "training.packing=false",
            "--set", f"eval.max_new_tokens={EVAL_TOKENS}"]  # fmt: skip
    script = tmp_path / "train_reporting_saves.py"
    script.write_text(TRAIN_REPORTING_SAVES, encoding="utf-8")
    log = tmp_path / "killed-run.log"
    with log.open("w") as stderr:
        proc = subprocess.Popen([sys.executable, str(script), *args, "--max-steps", "400"], text=True,
                                stdout=subprocess.PIPE, stderr=stderr, start_new_session=True,
                                env={**os.environ, "PARK_AFTER": "4"})  # fmt: skip
    watchdog = threading.Timer(300, os.killpg, (proc.pid, signal.SIGKILL))
    watchdog.start()
    events = []
    try:
        for line in proc.stdout:
            if line.startswith(("saved ", "parked ")):
                events.append(line.strip())
            if line.startswith("parked "):
                break
        expected = ["saved checkpoint-2", "saved checkpoint-4", "parked at step 6"]
        assert events == expected, log.read_text()[-3000:]
    finally:
        watchdog.cancel()
        os.killpg(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=60) == -signal.SIGKILL
        proc.stdout.close()
    assert not out.exists()  # nothing that looks complete
    checkpoints = tmp_path / "adapter.work" / "checkpoints"
    assert sorted(p.name for p in checkpoints.glob("checkpoint-*")) == ["checkpoint-2", "checkpoint-4"]
    state = json.loads((checkpoints / "checkpoint-4" / "trainer_state.json").read_text(encoding="utf-8"))
    logged = [{"step": h["step"], "loss": h["loss"]} for h in state["log_history"] if "loss" in h]
    assert state["global_step"] == 4 and [h["step"] for h in logged] == [1, 2, 3, 4]

    accelerate = [sys.executable, "-m", "accelerate.commands.launch",
                  "--config_file", str(EXAMPLES / "accelerate-cpu.yaml"), str(script)]  # fmt: skip
    done = subprocess.run([*accelerate, *args, "--max-steps", "6"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    # a run started over would save checkpoint-2 and -4 again: this one trained steps 5 and 6 only
    assert [line for line in done.stdout.splitlines() if line.startswith("saved ")] == ["saved checkpoint-6"]
    manifest = load_manifest(out, expect_kind="adapter")
    assert manifest.results.resumed_from == "checkpoint-4"
    assert manifest.results.global_step == 6 and manifest.settings.world_size == 1
    history = [h.model_dump() for h in manifest.results.loss_history]
    assert history[:4] == logged and [h["step"] for h in history] == [1, 2, 3, 4, 5, 6]
    assert find_parent(manifest, out) == text_data.resolve()
    assert not (tmp_path / "adapter.work").exists()
    assert_eval_is_the_adapters_scored(out, manifest.results.eval, text_data, tmp_path / "predictions.jsonl")


#: the answers' cap while the resumed run evaluates (6 steps from a random base: the answers are not learned)
EVAL_TOKENS = 8


def assert_eval_is_the_adapters_scored(
    adapter: Path, ev: Evaluation | None, data: Path, predictions: Path
) -> None:
    """``results.eval`` (written by finetune) covers every test row, grouped as tmz.core.scoring groups them,
    with figures in range; and it equals the scores of the adapter's greedy answers, generated again (same
    settings) and scored by :func:`tmz.core.scoring.score` from the predictions file."""
    assert isinstance(ev, Evaluation) and ev.split == "test", ev
    rows = read_split(data, "test")
    assert ev.overall.rows == len(rows) == len(TEXT_PAIRS)
    assert set(ev.by_direction) == {r.direction for r in rows} and set(ev.by_modality) == {"text"}
    assert sum(s.rows for s in ev.by_direction.values()) == ev.overall.rows
    for s in [ev.overall, *ev.by_direction.values(), *ev.by_script.values(), *ev.by_dialect.values()]:
        assert 0 <= s.chrf <= 100 and 0 <= s.bleu <= 100 and 0 <= s.exact <= 1 and s.cer is None, s
    again = evaluate(adapter, data, overrides={"eval.max_new_tokens": EVAL_TOKENS}, predictions=predictions)
    lines = [json.loads(line) for line in predictions.read_text(encoding="utf-8").splitlines()]
    assert [line["id"] for line in lines] == [r.id for r in rows]
    rescored = score(rows, [line["hypothesis"] for line in lines])
    assert again == ev and Evaluation(split="test", **rescored.model_dump()) == ev


def test_example_configs_load():
    configs = sorted(EXAMPLES.glob("train-*.toml"))
    assert len(configs) >= 3
    for path in configs:
        cfg = load_config(path)
        assert cfg.lora.r > 0
    assert load_config(EXAMPLES / "train-gemma3-4b-vision.toml").training.packing is False


def test_vocabulary_reconciliation(tiny_text_base):
    model = AutoModelForCausalLM.from_pretrained(tiny_text_base)
    tok = AutoTokenizer.from_pretrained(tiny_text_base)
    ids = torch.tensor([[2, 5, 40, 41]])
    before = model(ids).logits[0, :, :512]
    model.resize_token_embeddings(576)  # as after training with padded/extended embeddings
    info = reconcile_vocab(model, tok, 512)
    assert info == Vocabulary(embedding_rows=576, vocab_size=512, resized=True, tokenizer_size=512)
    assert model.get_input_embeddings().weight.shape[0] == 512 and model.config.vocab_size == 512
    assert torch.allclose(model(ids).logits[0], before, atol=1e-5)
    assert reconcile_vocab(model, tok, 512).resized is False


def test_bad_configurations():
    with pytest.raises(ConfigError, match="training.learning_rate"):
        load_config(None, {"training.learning_rate": -1})
    with pytest.raises(ConfigError, match="lora.rank"):
        load_config(None, ["lora.rank=8"])
    with pytest.raises(ConfigError, match="section.key=value"):
        load_config(None, ["nonsense"])
    with pytest.raises(ConfigError, match="not found"):
        load_config("/nonexistent/train.toml")
    cfg = load_config(None, ["training.max_steps=7", "data.dialects=['zgh']"])
    assert cfg.training.max_steps == 7 and cfg.data.dialects == ["zgh"]


def test_toml_file_and_bad_toml(tmp_path):
    good = tmp_path / "c.toml"
    good.write_text("[lora]\nr = 8\n[training]\nmax_steps = 3\n", encoding="utf-8")
    cfg = load_config(good, {"training.max_steps": 5})
    assert (cfg.lora.r, cfg.lora.alpha, cfg.training.max_steps) == (8, 32, 5)
    bad = tmp_path / "bad.toml"
    bad.write_text("[lora\nr = 8\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)


def test_missing_and_wrong_datasets(text_data, tiny_text_base, tmp_path):
    with pytest.raises(DataError, match="not found"):
        finetune(tmp_path / "nope", backend="tiny", out=tmp_path / "a", base=tiny_text_base)
    with pytest.raises(ManifestError, match="expected a dataset"):
        finetune(tiny_text_base, backend="tiny", out=tmp_path / "a", base=tiny_text_base)
    with pytest.raises(DataError, match="no training rows"):
        finetune(text_data, backend="tiny", out=tmp_path / "a", base=tiny_text_base,
                 overrides={"data.dialects": ["tzm"]})  # fmt: skip
    with pytest.raises(ConfigError, match="backend 'tiny'"):
        finetune(text_data, backend="tiny-vision", out=tmp_path / "a", base=tiny_text_base)
    assert not (tmp_path / "a").exists()


def test_liger_kernel_setting(monkeypatch):
    import importlib.util

    from tmz.train.model import Hardware

    fast = load_config(EXAMPLES / "train-gemma3-1b-fast.toml").training
    assert fast.liger_kernel and fast.optim == "adamw_torch_fused"
    assert load_config(EXAMPLES / "train-gemma3-1b.toml").training.liger_kernel is False
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert Hardware.detect(fast).liger_kernel is False  # Triton kernels need CUDA: off on CPU
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "liger_kernel" else real_find_spec(name, *a),
    )
    with pytest.raises(ConfigError, match=r"tmz-train\[fast\]"):
        Hardware.detect(fast)
    assert Hardware.detect(fast.model_copy(update={"liger_kernel": False, "precision": "bf16"})).optim == (
        "adamw_torch_fused"
    )


def test_sft_config_carries_liger(tmp_path):
    from tmz.train.model import Hardware
    from tmz.train.sft import sft_config

    cfg = load_config(EXAMPLES / "train-gemma3-1b-fast.toml")
    on = sft_config(cfg, Hardware("cuda", "nf4", "fp32", "adamw_torch_fused", True), tmp_path, False, False)
    off = sft_config(cfg, Hardware("cpu", "none", "fp32", "adamw_torch"), tmp_path, False, False)
    assert on.use_liger_kernel is True and off.use_liger_kernel is False
