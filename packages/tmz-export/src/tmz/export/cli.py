"""`tmz export` commands: `run` (check, convert, parity) and `verify` (parity again)."""

from __future__ import annotations

from pathlib import Path

import click

from tmz.core.parity import ParityReport
from tmz.export.recipes import QUANTIZATIONS
from tmz.export.signatures import PREFILL_LADDER
from tmz.export.tolerances import Tolerance, tolerance_for

DEFAULTS = {"kv_cache": 1024, "n": 8, "max_new_tokens": 32}


@click.group("export")
def group() -> None:
    """Convert a merged checkpoint to TFLite (litert-torch) and check parity in LiteRT-LM."""


def _prompts(path: Path | None) -> list[dict] | None:
    if path is None:
        return None
    from tmz.export.prompts import read_jsonl

    return read_jsonl(path)


def _summary(report: ParityReport) -> str:
    return (f"parity {'passed' if report.passed else 'FAILED'}: {report.exact}/{report.prompts} identical, "
            f"{report.ties} near-ties, {report.divergences} divergent; |delta log p| max {report.max_abs_delta:.3g}, "
            f"mean {report.mean_abs_delta:.3g} ({report.prompt_source})")  # fmt: skip


def _tolerance(
    quantization: str, max_delta: float | None, mean_delta: float | None, tie: float | None
) -> Tolerance:
    return tolerance_for(quantization).override(max_delta, mean_delta, tie)


def _parity_options(f):
    options = [
        click.option("--prompts", "prompts", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                     help="JSON-lines of dataset rows to use as parity prompts (default: the lineage's test split)."),
        click.option("-n", "--parity-prompts", type=click.IntRange(min=1), default=DEFAULTS["n"], show_default=True,
                     help="How many prompts to compare."),
        click.option("--max-new-tokens", type=click.IntRange(min=1), default=DEFAULTS["max_new_tokens"],
                     show_default=True, help="Greedy tokens generated per prompt."),
        click.option("--max-delta", type=click.FloatRange(min=0), default=None,
                     help="Largest |delta log p| of one token (default: the quantization's measured tolerance)."),
        click.option("--mean-delta", type=click.FloatRange(min=0), default=None,
                     help="Largest mean |delta log p| over all scored tokens (default: measured)."),
        click.option("--tie-margin", type=click.FloatRange(min=0), default=None,
                     help="PyTorch margin under which parting answers count as a rounding tie (default: measured)."),
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
                parity_prompts, max_new_tokens, max_delta, mean_delta, tie_margin) -> None:  # fmt: skip
    """Check MODEL (a merged checkpoint), convert it to TFLite + .litertlm, and check parity.

    Writes OUT with the prefill/decode model, the tokenizer, the vision encoder and adapter for vision models,
    litert-torch's .litertlm and a manifest (kind "export") recording settings, checks, seconds, peak memory and
    the parity report. Exits 1 when a check fails or parity fails: LiteRT-LM scores PyTorch's greedy answer token
    by token, and a token whose log-probability strays beyond tolerance, or a parting of the greedy answers where
    PyTorch was sure (not a near-tie), fails the export.

    \b
    Example:
      tmz export run work/model --out work/export -q int8 --kv-cache 1024
      tmz export run work/model --out work/export-int4 -q int4 --prefill 64 --prefill 512
      tmz export run work/tiny --out work/tiny-export -q fp32 --prefill 32 --kv-cache 128 --max-delta 0.01
    """
    from tmz.export.api import export

    manifest = export(
        model, out, quantization=quantization, prefill_lengths=list(prefill_lengths) or None,
        kv_cache=kv_cache, vision={"auto": "auto", "on": True, "off": False}[vision], parity=parity,
        prompts=_prompts(prompts), parity_prompts=parity_prompts, max_new_tokens=max_new_tokens,
        tolerance=_tolerance(quantization, max_delta, mean_delta, tie_margin), backend=backend,
    )  # fmt: skip
    click.echo(f"wrote {out} ({', '.join(f'{k}: {v}' for k, v in manifest.settings['components'].items())})")
    if parity:
        click.echo(_summary(ParityReport.model_validate(manifest.results["parity"])))


@group.command("verify")
@click.argument("export_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--model", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Source checkpoint (default: the one the export's manifest names).")  # fmt: skip
@click.option("--report", "report_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the whole report (JSON) to this file; the export itself is never changed.")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print the whole report as JSON.")
@_parity_options
def verify_command(
    export_dir,
    model,
    report_file,
    as_json,
    prompts,
    parity_prompts,
    max_new_tokens,
    max_delta,
    mean_delta,
    tie_margin,
) -> None:
    """Check an export (in LiteRT-LM, CPU) against its PyTorch checkpoint again, token by token.

    LiteRT-LM scores PyTorch's greedy answers; the log-probabilities of both engines are compared, and where the
    greedy answers part, PyTorch's own margin tells a rounding tie from a divergence. The export is left
    byte-identical. Exits 1 when parity fails.

    \b
    Example:
      tmz export verify work/export
      tmz export verify work/export --model work/model-other --prompts prompts.jsonl -n 20 --report parity.json
    """
    from tmz.core.manifest import load_manifest
    from tmz.export.api import verify

    # only the quantization, for the default tolerances: verify() checks the export's files itself
    quantization = load_manifest(export_dir, expect_kind="export", verify=False).settings["quantization"]
    report = verify(export_dir, model=model, prompts=_prompts(prompts), parity_prompts=parity_prompts,
                    max_new_tokens=max_new_tokens, tolerance=_tolerance(quantization, max_delta, mean_delta, tie_margin),
                    report_file=report_file)  # fmt: skip
    click.echo(report.model_dump_json(indent=2) if as_json else _summary(report))
