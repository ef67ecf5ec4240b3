"""`tmz train` commands."""

from __future__ import annotations

from pathlib import Path

import click


@click.group("train")
def group() -> None:
    """Fine-tune, evaluate and merge Gemma 3 translation models.

    \b
    Example:
      tmz train run work/data --backend gemma3-1b-text --out work/adapter
      tmz train merge work/adapter --out work/model
      tmz train eval work/model work/data --split test
    """


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
@click.option("--overwrite", is_flag=True, help="Replace OUT even when it is not a model tmz wrote.")
def init_tiny(out: Path, vision: bool, texts_files: tuple[Path, ...], seed: int, overwrite: bool) -> None:
    """Build a tiny random Gemma 3 checkpoint with its SentencePiece tokenizer, offline, into OUT.

    \b
    Example:
      tmz train init-tiny work/tiny
      tmz train init-tiny work/tiny-vision --vision --texts corpus_en.txt --texts corpus_zgh.txt
    """
    from tmz.train.tiny import build_tiny

    texts = [line for f in texts_files for line in f.read_text(encoding="utf-8").splitlines()]
    manifest = build_tiny(out, vision=vision, texts=texts, seed=seed, overwrite=overwrite)
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
@click.option("--quantization", type=click.Choice(["auto", "nf4", "none"]),
              help="Override lora.quantization: nf4 (QLoRA, needs tmz-train[qlora]; CPU too), none, or auto "
                   "(nf4 on CUDA, none on CPU).")  # fmt: skip
@click.option("--seed", type=int, help="Override training.seed.")
@click.option("--dialect", "dialects", multiple=True, help="Train on this dialect only (repeatable).")
@click.option("--set", "sets", multiple=True, help="Any setting as section.key=value (TOML value syntax).")
@click.option("--overwrite", is_flag=True,
              help="Replace --out even when it is not an adapter tmz wrote (never an input).")  # fmt: skip
def run_command(dataset, backend, out, config_file, base, max_steps, epochs, lr, batch_size, lora_r, quantization,
                seed, dialects, sets, overwrite) -> None:  # fmt: skip
    """Fine-tune BACKEND on DATASET (a `tmz data prepare` directory); write a LoRA adapter to --out.

    QLoRA (4-bit NF4 base) on CUDA, plain fp32 LoRA on CPU unless --quantization nf4. Re-running with the same --out resumes from the last
    checkpoint in <out>.work/. Under several GPUs run the same command through `accelerate launch`.

    \b
    Example:
      tmz train run work/data --backend gemma3-1b-text --out work/adapter --config examples/configs/train-gemma3-1b.toml
      tmz train run work/data --backend tiny --out work/adapter --max-steps 50 --set training.packing=false
      tmz train run work/data --backend tiny --out work/adapter --max-steps 50 --quantization nf4
      accelerate launch --config_file examples/configs/accelerate-ddp.yaml -m tmz.train run work/data \\
          --backend gemma3-4b-vision --out work/adapter
    """
    from tmz.train.sft import finetune

    flags = {"training.max_steps": max_steps, "training.epochs": epochs, "training.learning_rate": lr,
             "training.per_device_batch_size": batch_size, "lora.r": lora_r, "lora.quantization": quantization,
             "training.seed": seed,
             "data.dialects": list(dialects) or None}  # fmt: skip
    manifest = finetune(dataset, backend=backend, out=out, config=config_file, overrides=_overrides(flags, sets),
                        base=base, overwrite=overwrite)  # fmt: skip
    if manifest is None:  # another rank of `accelerate launch`: rank 0 writes the adapter
        return
    res = manifest.results
    hw = manifest.settings.hardware
    bnb = f", bitsandbytes {hw.bitsandbytes}" if hw.bitsandbytes else ""
    click.echo(f"wrote adapter to {out}: {res.global_step} steps, train loss {res.train_loss:.4f} "
               f"({hw.device}, quantization {hw.quantization}{bnb})")  # fmt: skip
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
@click.option("--base", "weights", type=click.Choice(["original", "dequantized"]),
              help="nf4 adapters: merge into the original weights or the NF4 ones they trained against, "
                   "dequantized (default: merge.base, dequantized).")  # fmt: skip
@click.option("--dataset", type=click.Path(path_type=Path),
              help="Dataset to measure the merge's fidelity on (default: the adapter's parent).")  # fmt: skip
@click.option("--overwrite", is_flag=True,
              help="Replace --out even when it is not a model tmz wrote (never the adapter).")  # fmt: skip
def merge_command(adapter: Path, out: Path, dtype: str | None, weights: str | None, dataset: Path | None,
                  overwrite: bool) -> None:  # fmt: skip
    """Merge ADAPTER into its base: a safetensors checkpoint with tokenizer and chat template, for export.

    Then measures the merged checkpoint against the trained model (base as trained plus the adapter) on
    training and held-out rows: identical greedy answers and |delta log p|, recorded in results.fidelity.

    \b
    Example:
      tmz train merge work/adapter --out work/model
      tmz train merge work/adapter --out work/model-original --base original
    """
    from tmz.train.merging import merge

    manifest = merge(adapter, out, dtype=dtype, base=weights, dataset=dataset, overwrite=overwrite)
    merged, fidelity = manifest.settings.merged, manifest.results.fidelity
    click.echo(f"wrote {manifest.backend} model to {out} (vocabulary {merged.vocab.vocab_size}, "
               f"{merged.weights} weights)")  # fmt: skip
    if fidelity is not None:
        click.echo(f"fidelity to the trained model ({fidelity.reference}): {fidelity.exact}/{fidelity.prompts} "
                   f"greedy answers identical, |delta log p| max {fidelity.max_abs_delta:.4f} "
                   f"mean {fidelity.mean_abs_delta:.4f}")  # fmt: skip
