"""`tmz train` commands."""

from __future__ import annotations

from pathlib import Path

import click


@click.group("train")
def group() -> None:
    """Fine-tune, evaluate and merge Gemma 3 translation models."""


@group.command("init-tiny")
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--vision", is_flag=True, help="Build the image + text variant (backend tiny-vision).")
@click.option(
    "--texts",
    "texts_files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Text file(s), one sentence a line, to train the tokenizer on besides the prompts and alphabets.",
)
@click.option("--seed", default=0, show_default=True, help="Random seed of the weights.")
def init_tiny(out: Path, vision: bool, texts_files: tuple[Path, ...], seed: int) -> None:
    """Build a tiny random Gemma 3 checkpoint with its SentencePiece tokenizer, offline, into OUT.

    \b
    Example:
      tmz train init-tiny work/tiny
      tmz train init-tiny work/tiny-vision --vision --texts corpus_en.txt --texts corpus_zgh.txt
    """
    from tmz.train.tiny import build_tiny

    texts = [line for f in texts_files for line in f.read_text(encoding="utf-8").splitlines()]
    manifest = build_tiny(out, vision=vision, texts=texts, seed=seed)
    click.echo(f"wrote {manifest.backend} model to {out} ({len(manifest.files)} files)")


def _overrides(pairs: dict[str, object], sets: tuple[str, ...]) -> list[str] | dict[str, object]:
    from tmz.train.config import parse_override

    out: dict[str, object] = {".".join(k): v for k, v in map(parse_override, sets)}
    out.update({k: v for k, v in pairs.items() if v is not None})
    return out


@group.command("run")
@click.argument("dataset", type=click.Path(path_type=Path))
@click.option("--backend", required=True, help="Registered backend (see `tmz plugins`), e.g. gemma3-1b-text.")
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Adapter directory to write.")
@click.option("--config", "config_file", type=click.Path(path_type=Path), help="TOML configuration file.")
@click.option("--base", help="Base checkpoint directory or hub id (default: the backend's model).")
@click.option("--max-steps", type=int, help="Override training.max_steps.")
@click.option("--epochs", type=float, help="Override training.epochs.")
@click.option("--lr", type=float, help="Override training.learning_rate.")
@click.option("--batch-size", type=int, help="Override training.per_device_batch_size.")
@click.option("--lora-r", type=int, help="Override lora.r.")
@click.option("--seed", type=int, help="Override training.seed.")
@click.option("--dialect", "dialects", multiple=True, help="Train on this dialect only (repeatable).")
@click.option("--set", "sets", multiple=True, help="Any setting as section.key=value (TOML value syntax).")
def run_command(dataset, backend, out, config_file, base, max_steps, epochs, lr, batch_size, lora_r, seed,
                dialects, sets) -> None:  # fmt: skip
    """Fine-tune BACKEND on DATASET (a `tmz data prepare` directory); write a LoRA adapter to --out.

    QLoRA (4-bit NF4) on CUDA, plain fp32 LoRA on CPU. Re-running with the same --out resumes from the last
    checkpoint in <out>.work/. Under several GPUs run the same command through `accelerate launch`.

    \b
    Example:
      tmz train run work/data --backend gemma3-1b-text --out work/adapter --config examples/configs/train-gemma3-1b.toml
      tmz train run work/data --backend tiny --out work/adapter --max-steps 50 --set training.packing=false
      accelerate launch --config_file examples/configs/accelerate-ddp.yaml -m tmz.train run work/data \\
          --backend gemma3-4b-vision --out work/adapter
    """
    from tmz.train.sft import finetune

    flags = {"training.max_steps": max_steps, "training.epochs": epochs, "training.learning_rate": lr,
             "training.per_device_batch_size": batch_size, "lora.r": lora_r, "training.seed": seed,
             "data.dialects": list(dialects) or None}  # fmt: skip
    manifest = finetune(dataset, backend=backend, out=out, config=config_file, overrides=_overrides(flags, sets),
                        base=base)  # fmt: skip
    res = manifest.results
    click.echo(f"wrote adapter to {out}: {res.global_step} steps, train loss {res.train_loss:.4f}")
    if res.eval is not None:
        from tmz.train.evaluation import print_report

        print_report(res.eval)


@group.command("eval")
@click.argument("model", type=click.Path(path_type=Path))
@click.argument("dataset", type=click.Path(path_type=Path))
@click.option("--split", help="Dataset split (default: eval.split of the configuration, test).")
@click.option("--config", "config_file", type=click.Path(path_type=Path), help="TOML configuration file.")
@click.option("--max-samples", type=int, help="Evaluate at most this many rows.")
@click.option("--predictions", type=click.Path(path_type=Path), help="Write hypotheses as JSON lines here.")
@click.option("--json", "json_out", type=click.Path(path_type=Path), help="Write the report as JSON here.")
@click.option("--set", "sets", multiple=True, help="Any setting as section.key=value.")
def eval_command(model, dataset, split, config_file, max_samples, predictions, json_out, sets) -> None:
    """Greedy-translate a DATASET split with MODEL (merged model or adapter) and print chrF++/BLEU per
    direction, script and dialect (and CER for image rows).

    \b
    Example:
      tmz train eval work/model work/data --split test --predictions work/test.jsonl
    """
    from tmz.core.atomic import write_text_atomic
    from tmz.train.evaluation import evaluate, print_report

    flags = {"eval.max_samples": max_samples}
    report = evaluate(model, dataset, split=split, config=config_file, overrides=_overrides(flags, sets),
                      predictions=predictions)  # fmt: skip
    print_report(report)
    if json_out:
        write_text_atomic(json_out, report.model_dump_json(indent=2) + "\n")


@group.command("merge")
@click.argument("adapter", type=click.Path(path_type=Path))
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Model directory to write.")
@click.option(
    "--dtype", type=click.Choice(["float32", "bfloat16"]), help="Weights dtype (default: merge.dtype)."
)
def merge_command(adapter: Path, out: Path, dtype: str | None) -> None:
    """Merge ADAPTER into its base: a safetensors checkpoint with tokenizer and chat template, for export.

    \b
    Example:
      tmz train merge work/adapter --out work/model
    """
    from tmz.train.merging import merge

    manifest = merge(adapter, out, dtype=dtype)
    click.echo(
        f"wrote {manifest.backend} model to {out} (vocabulary {manifest.settings.merged.vocab.vocab_size})"
    )
