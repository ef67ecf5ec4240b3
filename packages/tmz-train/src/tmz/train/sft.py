"""LoRA / QLoRA supervised fine-tuning of a backend on a tmz dataset, with trl's SFTTrainer.

Text rows train as TRL conversational prompt/completion pairs with completion-only loss (the exported chat
template stays free of ``{% generation %}`` markers); short rows are packed (best-fit decreasing, padding-free
with per-sequence position ids). Image rows go through :class:`~tmz.train.vision.VisionCollator`.
Checkpoints go to ``<out>.work/checkpoints``; a run started again with the same ``out`` resumes from the last one.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from datasets import Dataset
from peft import LoraConfig, prepare_model_for_kbit_training
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR
from trl import SFTConfig, SFTTrainer

from tmz.core.atomic import atomic_directory, check_output
from tmz.core.errors import DataError
from tmz.core.kinds.adapter import AdapterResults, AdapterSettings, LossPoint
from tmz.core.kinds.base import ImageNormalisation, LoraSettings
from tmz.core.manifest import AdapterManifest, Producer, list_files, parent_ref, write_manifest
from tmz.core.plugins import get_registry
from tmz.core.prompt import PROMPT_FORMAT_ID
from tmz.core.registry import Direction, ModelBackend
from tmz.core.scoring import Evaluation
from tmz.train.config import Overrides, TrainConfig, load_config
from tmz.train.data import LoadedDataset, load_dataset_artifact, select_rows, text_examples, vision_examples
from tmz.train.evaluation import evaluate_rows, generate
from tmz.train.learned import UntilLearned, recall, row_margins
from tmz.train.model import (
    BaseCheckpoint,
    Hardware,
    load_model,
    load_processing,
    prepare_for_generation,
    save_processing,
    tokenizer_model_file,
)
from tmz.train.tiny import build_tiny
from tmz.train.vision import VisionCollator

log = logging.getLogger("tmz.train")
BASE_DIR = "base"


def work_dir(out: str | Path) -> Path:
    """Where checkpoints (and a locally built base) live while training: ``<out>.work``."""
    out = Path(out)
    return out.with_name(out.name + ".work")


def last_complete_checkpoint(folder: Path) -> Path | None:
    """The newest ``checkpoint-N`` whose save completed: transformers writes ``trainer_state.json`` last, so a
    run killed in the middle of a save leaves a folder without it, and resuming goes back to the one before."""
    if not folder.is_dir():
        return None
    steps = []
    for d in folder.glob(f"{PREFIX_CHECKPOINT_DIR}-*"):
        step = d.name.removeprefix(f"{PREFIX_CHECKPOINT_DIR}-")
        if d.is_dir() and step.isdigit() and (d / "trainer_state.json").is_file():
            steps.append((int(step), d))
    return max(steps)[1] if steps else None


def lora_config(cfg: TrainConfig, backend: ModelBackend) -> LoraConfig:
    targets = cfg.lora.target_modules or backend.lora_targets
    return LoraConfig(
        r=cfg.lora.r,
        lora_alpha=cfg.lora.alpha,
        lora_dropout=cfg.lora.dropout,
        target_modules=targets if isinstance(targets, str) else list(targets),
        modules_to_save=cfg.lora.modules_to_save or None,
        bias=cfg.lora.bias,
        task_type="CAUSAL_LM",
    )


def sft_config(
    cfg: TrainConfig, hardware: Hardware, output_dir: Path, has_eval: bool, vision: bool
) -> SFTConfig:
    """trl's SFTConfig from the tmz configuration (what `accelerate launch` distributes as well)."""
    t = cfg.training
    eval_strategy = ("steps" if t.eval_steps else "epoch") if has_eval else "no"
    return SFTConfig(
        output_dir=str(output_dir),
        num_train_epochs=t.epochs,
        max_steps=t.max_steps,
        per_device_train_batch_size=t.per_device_batch_size,
        per_device_eval_batch_size=t.per_device_batch_size,
        gradient_accumulation_steps=t.gradient_accumulation_steps,
        learning_rate=t.learning_rate,
        lr_scheduler_type=t.lr_scheduler,
        warmup_steps=t.warmup_ratio,  # a ratio when < 1 (transformers 5)
        weight_decay=t.weight_decay,
        optim=hardware.optim,
        use_liger_kernel=hardware.liger_kernel,
        bf16=hardware.precision == "bf16",
        fp16=hardware.precision == "fp16",
        use_cpu=hardware.device == "cpu",
        gradient_checkpointing=t.gradient_checkpointing,
        gradient_checkpointing_kwargs={"use_reentrant": False},
        max_length=t.max_length,
        packing=t.packing and not vision,
        packing_strategy="bfd",
        completion_only_loss=True,
        eval_strategy=eval_strategy,
        eval_steps=t.eval_steps,
        save_strategy="steps",
        save_steps=t.save_steps,
        save_total_limit=t.save_total_limit,
        logging_steps=t.logging_steps,
        seed=t.seed,
        data_seed=t.seed,
        report_to="none",
        remove_unused_columns=not vision,
        dataset_kwargs={"skip_prepare_dataset": True} if vision else None,
        ddp_find_unused_parameters=False if not vision else None,
    )


def _coverage(rows: Any) -> dict[str, list[str]]:
    directions = sorted(set(rows["direction"]))
    langs, scripts = set(), set()
    for tag in directions:
        d = Direction.parse(tag)
        langs |= {d.source, d.target}
        scripts |= {d.source_script, d.target_script}
    dialects = sorted({d for d in rows["dialect"] if d})
    return {
        "languages": sorted(langs),
        "scripts": sorted(scripts),
        "directions": directions,
        "dialects": dialects,
    }


def _local_base(data: LoadedDataset, work: Path, backend: ModelBackend, seed: int) -> Path:
    """A tiny base built once per run (tokenizer trained on the dataset's texts), kept across resumes."""
    base = work / BASE_DIR
    if not base.is_dir():
        train = data.split("train")
        texts = [t for t in train["source_text"] if t] + list(train["target_text"])
        build = backend.build_tiny or partial(build_tiny, vision=backend.vision)
        build(base, texts=texts, seed=seed)
    return base


@dataclass
class Run:
    """Everything a fine-tune needs, prepared: the trainer and what the manifest records."""

    cfg: TrainConfig
    backend: ModelBackend
    data: LoadedDataset
    train_rows: Dataset
    eval_rows: Dataset | None
    base: BaseCheckpoint
    hardware: Hardware
    processing: Any
    trainer: SFTTrainer
    work: Path
    until_learned: UntilLearned | None = None


def prepare_run(
    dataset: str | Path,
    *,
    backend: str,
    out: str | Path,
    config: TrainConfig | str | Path | None = None,
    overrides: Overrides = None,
    base: str | Path | None = None,
) -> Run:
    """Load data, base and processor and build the SFTTrainer (no training yet)."""
    cfg = load_config(config, overrides)
    be = get_registry().backend(backend)
    data = load_dataset_artifact(dataset)
    train_rows = select_rows(data.split(cfg.data.train_split), cfg.data, be.vision)
    if len(train_rows) == 0:
        raise DataError(
            f"{data.path}: no training rows left in split {cfg.data.train_split!r} after the filters "
            f"(dialects={cfg.data.dialects or 'all'}, directions={cfg.data.directions or 'all'}, "
            f"image rows {'kept' if be.vision else 'skipped for a text backend'})"
        )
    eval_rows = None
    if cfg.data.eval_split and cfg.data.eval_split in data.splits:
        eval_rows = select_rows(data.split(cfg.data.eval_split), cfg.data, be.vision)
        eval_rows = eval_rows if len(eval_rows) else None

    work = work_dir(out)
    work.mkdir(parents=True, exist_ok=True)
    if base is None and be.local:
        base = _local_base(data, work, be, cfg.training.seed)
    base_ref = BaseCheckpoint.resolve(be, base)
    hardware = Hardware.detect(cfg.training, cfg.lora.quantization)
    processing = load_processing(base_ref.source, be.vision, be.chat_format)
    model = load_model(base_ref.source, be, hardware)
    if hardware.quantization == "nf4":  # norms and embeddings to fp32, input grads for checkpointing
        model = prepare_model_for_kbit_training(
            model, cfg.training.gradient_checkpointing, {"use_reentrant": False}
        )
    if be.vision:
        train_ds, eval_ds = (
            vision_examples(train_rows, data.path),
            eval_rows and vision_examples(eval_rows, data.path),
        )
        collator = VisionCollator(processing, cfg.training.max_length)
    else:
        train_ds, eval_ds = text_examples(train_rows), eval_rows and text_examples(eval_rows)
        collator = None
    trainer = SFTTrainer(
        model=model,
        args=sft_config(cfg, hardware, work / "checkpoints", eval_ds is not None, be.vision),
        train_dataset=train_ds,
        eval_dataset=eval_ds,
        processing_class=processing,
        data_collator=collator,
        peft_config=lora_config(cfg, be),
    )
    until = None
    if cfg.training.learned_margin is not None:
        until = UntilLearned(cfg.training.learned_margin, cfg.training.learned_check_steps,
                             lambda net: row_margins(net, processing, train_rows, data.path))  # fmt: skip
        trainer.add_callback(until)
    return Run(cfg, be, data, train_rows, eval_rows, base_ref, hardware, processing, trainer, work, until)


def finetune(
    dataset: str | Path,
    *,
    backend: str,
    out: str | Path,
    config: TrainConfig | str | Path | None = None,
    overrides: Overrides = None,
    base: str | Path | None = None,
    overwrite: bool = False,
) -> AdapterManifest:
    """Fine-tune ``backend`` (its hub model, or ``base``) on a dataset artifact; write a LoRA adapter to ``out``.

    ``config`` is a :class:`TrainConfig` or a TOML path; ``overrides`` (``{"training.max_steps": 50}`` or
    ``["training.max_steps=50"]``) apply on top. Local backends without ``base`` get a tiny base built from the
    dataset's texts. Returns the adapter manifest (effective configuration in ``settings.config``). ``out``
    replaces only an adapter tmz wrote, unless ``overwrite``; neither it nor ``<out>.work`` may be an input.
    """
    inputs = [dataset, *([base] if base is not None and Path(base).exists() else [])]
    check_output(out, "adapter", overwrite=overwrite, inputs=inputs)
    check_output(work_dir(out), "adapter", overwrite=True, inputs=inputs)  # only: not an input
    run = prepare_run(dataset, backend=backend, out=out, config=config, overrides=overrides, base=base)
    cfg, be, data, trainer = run.cfg, run.backend, run.data, run.trainer
    checkpoints = Path(trainer.args.output_dir)
    last = last_complete_checkpoint(checkpoints)
    if last:
        log.warning("resuming from %s", last)
    result = trainer.train(resume_from_checkpoint=str(last) if last else None)
    if not trainer.is_world_process_zero():
        return None  # type: ignore[return-value]  # other ranks of `accelerate launch` stop here
    peft_model = prepare_for_generation(trainer.model)

    learned = recalled = evaluation = None
    if run.until_learned is not None:
        learned = run.until_learned.report()
        hyps = generate(peft_model, run.processing, run.train_rows, cfg.eval, data.path, be.chat_format)
        margins = row_margins(peft_model, run.processing, run.train_rows, data.path)
        recalled = recall(cfg.data.train_split, run.train_rows, hyps, margins)
    eval_split = cfg.eval.split if cfg.eval.split in data.splits else None
    if cfg.eval.after_training and eval_split:
        rows = select_rows(data.split(eval_split), cfg.data, be.vision)
        if len(rows):
            report, _ = evaluate_rows(peft_model, run.processing, rows, cfg.eval, data.path, be.chat_format)
            evaluation = Evaluation(split=eval_split, **report.model_dump())
    results = AdapterResults(
        train_loss=round(float(result.training_loss), 6),
        global_step=result.global_step,
        resumed_from=Path(last).name if last else None,
        loss_history=[
            LossPoint(step=h["step"], loss=h["loss"]) for h in trainer.state.log_history if "loss" in h
        ],
        learned=learned,
        recall=recalled,
        eval=evaluation,
    )

    bundled = run.base.local and Path(run.base.source).is_relative_to(run.work.resolve())  # a base built here
    targets = lora_config(cfg, be).target_modules
    settings = AdapterSettings(
        config=cfg.model_dump(),
        base=run.base.ref(BASE_DIR if bundled else None),
        hardware=run.hardware.record(),
        lora=LoraSettings(
            **cfg.lora.model_dump(exclude={"target_modules", "quantization"}),
            target_modules=targets if isinstance(targets, str) else sorted(targets),
        ),
        train_rows=len(run.train_rows),
        eval_rows=len(run.eval_rows) if run.eval_rows is not None else 0,
        dialect_mode="filter" if cfg.data.dialects else "joint",
        world_size=trainer.args.world_size,
        image_normalisation=ImageNormalisation.of(run.processing.image_processor) if be.vision else None,
    )
    with atomic_directory(out, "adapter", overwrite=overwrite, inputs=inputs) as tmp:
        peft_model.save_pretrained(tmp, safe_serialization=True)
        (tmp / "README.md").unlink(missing_ok=True)  # peft's placeholder card: `tmz card` writes the real one
        save_processing(run.processing, tmp, tokenizer_model_file(run.base.source, run.base.local))
        if bundled:
            shutil.copytree(run.base.source, tmp / BASE_DIR)
        manifest = AdapterManifest(
            name=Path(out).name,
            producer=Producer.of("tmz-train"),
            parent=parent_ref(data.path, out),
            backend=be.name,
            files=list_files(tmp),
            prompt_format=PROMPT_FORMAT_ID,
            settings=settings,
            results=results,
            **_coverage(run.train_rows),
            licenses=data.manifest.inherited_licenses(),
        )
        write_manifest(manifest, tmp)
    if not cfg.training.keep_checkpoints:  # what training put there, not the folder (it may hold more)
        for name in ("checkpoints", BASE_DIR):
            shutil.rmtree(run.work / name, ignore_errors=True)
        with contextlib.suppress(OSError):
            run.work.rmdir()
    return manifest
