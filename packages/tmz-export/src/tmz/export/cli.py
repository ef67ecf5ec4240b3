"""`tmz export` commands: `run` (check, convert, parity) and `verify` (parity again)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from tmz.export.recipes import QUANTIZATIONS
from tmz.export.signatures import PREFILL_LADDER

DEFAULTS = {"kv_cache": 1024, "n": 8, "max_new_tokens": 32, "threshold": 0.9}


@click.group("export")
def group() -> None:
    """Convert a merged checkpoint to TFLite (litert-torch) and check parity in LiteRT-LM."""


def _prompts(path: Path | None) -> list[dict] | None:
    if path is None:
        return None
    from tmz.export.prompts import read_jsonl

    return read_jsonl(path)


def _summary(report: dict) -> str:
    d = report["first_divergence"]
    line = f"parity {report['matched']}/{report['prompts']} ({report['match_rate']:.0%}), {report['prompt_source']}"
    if d:
        line += f"; first divergence: {d['prompt']} at token {d['position']}"
    return line


def _parity_options(f):
    options = [
        click.option("--prompts", "prompts", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                     help="JSON-lines of dataset rows to use as parity prompts (default: the lineage's test split)."),
        click.option("-n", "--parity-prompts", type=click.IntRange(min=1), default=DEFAULTS["n"], show_default=True,
                     help="How many prompts to compare."),
        click.option("--max-new-tokens", type=click.IntRange(min=1), default=DEFAULTS["max_new_tokens"],
                     show_default=True, help="Greedy tokens generated per prompt."),
        click.option("--threshold", type=click.FloatRange(0, 1), default=DEFAULTS["threshold"], show_default=True,
                     help="Least share of prompts whose answers must match token for token; exit 1 below it."),
    ]  # fmt: skip
    for option in reversed(options):
        f = option(f)
    return f


@group.command("run")
@click.argument("model", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "-o", "--out", required=True, type=click.Path(path_type=Path), help="Export directory to write."
)
@click.option(
    "-q", "--quantization", type=click.Choice(list(QUANTIZATIONS)), default="int8", show_default=True
)
@click.option("--prefill", "prefill_lengths", type=click.IntRange(min=1), multiple=True,
              help=f"Prefill signature length (repeat for several; default {', '.join(map(str, PREFILL_LADDER))} up to "
                   "the KV cache).")  # fmt: skip
@click.option("--kv-cache", type=click.IntRange(min=1), default=DEFAULTS["kv_cache"], show_default=True,
              help="KV cache length: the most tokens (prompt + answer) the model handles.")  # fmt: skip
@click.option("--vision", type=click.Choice(["auto", "on", "off"]), default="auto", show_default=True,
              help="Export the vision encoder (auto: when the backend takes images).")  # fmt: skip
@click.option(
    "--backend", help="Backend name, for a plain checkpoint whose architecture several backends share."
)
@click.option(
    "--parity/--no-parity", default=True, show_default=True, help="Run the parity check after converting."
)
@_parity_options
def run_command(model, out, quantization, prefill_lengths, kv_cache, vision, backend, parity, prompts,
                parity_prompts, max_new_tokens, threshold) -> None:  # fmt: skip
    """Check MODEL (a merged checkpoint), convert it to TFLite + .litertlm, and check parity.

    Writes OUT with the prefill/decode model, the tokenizer, the vision encoder and adapter for vision models,
    litert-torch's .litertlm and a manifest (kind "export") recording settings, checks, seconds, peak memory and
    the parity report. Exits 1 when a check fails or parity is below --threshold.

    \b
    Example:
      tmz export run work/model --out work/export -q int8 --kv-cache 1024
      tmz export run work/model --out work/export-int4 -q int4 --prefill 64 --prefill 512
      tmz export run work/tiny --out work/tiny-export -q fp32 --prefill 32 --kv-cache 128 --threshold 1
    """
    from tmz.export.api import export

    manifest = export(
        model, out, quantization=quantization, prefill_lengths=list(prefill_lengths) or None,
        kv_cache=kv_cache, vision={"auto": "auto", "on": True, "off": False}[vision], parity=parity,
        prompts=_prompts(prompts), parity_prompts=parity_prompts, max_new_tokens=max_new_tokens,
        threshold=threshold, backend=backend,
    )  # fmt: skip
    click.echo(f"wrote {out} ({', '.join(f'{k}: {v}' for k, v in manifest.settings['components'].items())})")
    if parity:
        click.echo(_summary(manifest.results["parity"]))


@group.command("verify")
@click.argument("export_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--model", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Source checkpoint (default: the one the export's manifest names).")  # fmt: skip
@click.option("--record/--no-record", default=True, show_default=True,
              help="Write the report into the export's manifest (results.parity).")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print the whole report as JSON.")
@_parity_options
def verify_command(
    export_dir, model, record, as_json, prompts, parity_prompts, max_new_tokens, threshold
) -> None:
    """Compare greedy answers of an export (in LiteRT-LM, CPU) with its PyTorch checkpoint, token by token.

    Exits 1 when fewer than --threshold of the prompts match.

    \b
    Example:
      tmz export verify work/export
      tmz export verify work/export --prompts prompts.jsonl -n 20 --threshold 1 --json
    """
    from tmz.export.api import verify

    report = verify(export_dir, model=model, prompts=_prompts(prompts), parity_prompts=parity_prompts,
                    max_new_tokens=max_new_tokens, threshold=threshold, record=record)  # fmt: skip
    click.echo(json.dumps(report, indent=2, ensure_ascii=False) if as_json else _summary(report))
