"""`tmz export` commands: `run` (check, convert, parity) and `verify` (parity again)."""

from __future__ import annotations

from pathlib import Path

import click

from tmz.core.options import click_options, from_options
from tmz.core.parity import ParityReport
from tmz.export.options import CONVERSION_FIELDS, ExportOptions
from tmz.export.tolerances import Tolerance, tolerance_for

#: The command-line names that differ from the ExportOptions field names.
FLAGS = {"prefill_lengths": "--prefill", "quantization": ("--quantization", "-q"),
         "parity_prompts": ("--parity-prompts", "-n")}  # fmt: skip


@click.group("export")
def group() -> None:
    """Convert a merged checkpoint to TFLite (litert-torch) and check parity in LiteRT-LM.

    \b
    Example:
      tmz export run work/model --out work/export --quantization int8
      tmz export verify work/export --report parity.json
    """


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
                     help="JSON-lines of dataset rows to use as parity prompts (default: the lineage's test split, "
                          "else built-in ones)."),
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
@click_options(ExportOptions, flags=FLAGS)
@click.option("--vision", type=click.Choice(["auto", "on", "off"]), default="auto", show_default=True,
              help="Export the vision encoder (auto: when the backend takes images).")  # fmt: skip
@click.option(
    "--backend", help="Backend name, for a plain checkpoint whose architecture several backends share."
)
@click.option("--overwrite", is_flag=True,
              help="Replace --out even when it is not an export tmz wrote (never MODEL).")  # fmt: skip
@_parity_options
def run_command(model, out, vision, backend, prompts, max_delta, mean_delta, tie_margin, overwrite,
                **values) -> None:  # fmt: skip
    """Check MODEL (a merged checkpoint), convert it to TFLite + .litertlm, and check parity.

    Writes OUT with the prefill/decode model, the tokenizer, the vision encoder and adapter for vision models,
    litert-torch's .litertlm and a manifest (kind "export") recording settings, checks, seconds, peak memory and
    the parity report. Exits 1 when a check fails or parity fails: LiteRT-LM scores PyTorch's greedy answer token
    by token, and a token whose log-probability strays beyond tolerance, or a parting of the greedy answers where
    PyTorch was sure (not a near-tie), fails the export.

    \b
    Example:
      tmz export run work/model --out work/export --quantization int8 --kv-cache 1024
      tmz export run work/model --out work/export-int4 --quantization int4 --prefill 64 --prefill 512
      tmz export run work/tiny --out work/tiny-export --quantization fp32 --prefill 32 --kv-cache 128 --max-delta 0.01
    """
    from tmz.export.api import export

    options = from_options(ExportOptions, values)
    manifest = export(
        model, out, **options.model_dump(), vision={"auto": "auto", "on": True, "off": False}[vision],
        prompts=_prompts(prompts), backend=backend, overwrite=overwrite,
        tolerance=_tolerance(options.quantization, max_delta, mean_delta, tie_margin),
    )  # fmt: skip
    components = manifest.settings.components.present()
    click.echo(f"wrote {out} ({', '.join(f'{k}: {v}' for k, v in components.items())})")
    if manifest.results.parts is not None:
        from tmz.export.parts import describe_parts

        click.echo(f"checkpoint parts: {describe_parts(manifest.results.parts)}")
    if manifest.results.parity is not None:
        click.echo(_summary(manifest.results.parity))


@group.command("verify")
@click.argument("export_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--model", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Source checkpoint (default: the export's parent, found by its manifest hash).")  # fmt: skip
@click.option("--report", "report_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the whole report (JSON) to this file; the export itself is never changed.")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print the whole report as JSON.")
@click_options(ExportOptions, exclude=CONVERSION_FIELDS, flags=FLAGS)
@_parity_options
def verify_command(export_dir, model, report_file, as_json, prompts, max_delta, mean_delta, tie_margin,
                   **values) -> None:  # fmt: skip
    """Check an export (in LiteRT-LM, CPU) against its PyTorch checkpoint again, token by token.

    LiteRT-LM scores PyTorch's greedy answers; the log-probabilities of both engines are compared, and where the
    greedy answers part, PyTorch's own margin tells a rounding tie from a divergence. The export is left
    byte-identical. Exits 1 when parity fails.

    The source checkpoint is the export's parent, found by its manifest's hash (export and model directories may
    move together); --model names another.

    \b
    Example:
      tmz export verify work/export
      tmz export verify work/export --model work/model-b --prompts p.jsonl --parity-prompts 20 --report r.json
    """
    from tmz.core.manifest import load_manifest
    from tmz.export.api import verify

    options = from_options(ExportOptions, values)
    # only the quantization, for the default tolerances: verify() checks the export's files itself
    quantization = load_manifest(export_dir, expect_kind="export", verify=False).settings.quantization
    report = verify(export_dir, model=model, prompts=_prompts(prompts), parity_prompts=options.parity_prompts,
                    max_new_tokens=options.max_new_tokens, report_file=report_file,
                    tolerance=_tolerance(quantization, max_delta, mean_delta, tie_margin))  # fmt: skip
    click.echo(report.model_dump_json(indent=2) if as_json else _summary(report))
