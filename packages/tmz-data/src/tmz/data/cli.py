"""`tmz data` commands: prepare, stats, transliterate, inspect."""

from __future__ import annotations

import json
import sys
from itertools import islice
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from tmz.core.dataset import REJECTS_FILE, SPLITS, example
from tmz.core.kinds.dataset import DatasetResults, PrepareOptions
from tmz.core.options import click_options, from_options
from tmz.data.options import parse_mapping


@click.group("data")
def group() -> None:
    """Prepare parallel corpora: read, validate, normalise, expand, split.

    \b
    Example:
      tmz data prepare examples/corpus/phrases.csv --out work/data --transliterate
      tmz data stats work/data
    """


@group.command("prepare")
@click.argument("sources", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--out", "-o", required=True, type=click.Path(path_type=Path), help="Dataset directory to write."
)
@click.option(
    "--column",
    "columns",
    multiple=True,
    metavar="FIELD=COLUMN",
    help="Map a field to your column name (repeatable, or comma-separated), e.g. source_text=src.",
)
@click_options(PrepareOptions, exclude={"columns"}, flags={"directions": "--direction"})
@click.option("--quiet", "-q", is_flag=True, help="No progress bars.")
@click.option("--overwrite", is_flag=True,
              help="Replace --out even when it is not a dataset tmz wrote (never an input).")  # fmt: skip
def prepare_command(sources: tuple[Path, ...], out: Path, columns: tuple[str, ...], quiet: bool,
                    overwrite: bool, **options: Any) -> None:  # fmt: skip
    """Turn corpora into a leakage-free chat dataset (hf/, jsonl/, rejects.jsonl, manifest).

    SOURCES are csv, tsv, json, jsonl or parquet files (long layout: source_language, target_language,
    source_text, target_text; wide layout: one column per language such as en, fr, zgh_Tfng; image rows:
    image, target_language, target_text) or directories of line-aligned text files (seed_eng_Latn, ...).
    --out replaces only an empty folder or a dataset tmz wrote (--overwrite: anything but an input).
    Each source's license is --license (an SPDX id), else read from a LICENSE file or a dataset card
    (README.md with `license:` in its front matter) beside it; every artifact made from the dataset carries it.

    \b
    Example:
      tmz data prepare examples/corpus/phrases.csv --out work/data --transliterate
      tmz data prepare ../shared/data/oldi_seed_zgh_eng --out work/seed --test-ratio 0.05
      tmz data prepare corpus.tsv --out work/data --column source_text=src --column target_text=tgt
      tmz data prepare corpus.tsv --out work/data --license CC-BY-SA-4.0 --attribution "Seed, OLDI"
    """
    from tmz.data.pipeline import prepare

    chosen = from_options(PrepareOptions, options, columns=parse_mapping(columns))
    manifest = prepare(list(sources), out, options=chosen, progress=not quiet, overwrite=overwrite)
    results = manifest.results
    rows = results.rows
    con = Console()
    con.print(
        f"[bold]{out}[/]: {rows.read} rows read, {rows.accepted} accepted, {rows.rejected} rejected "
        f"-> {results.examples.total} examples",
        highlight=False,
    )
    _print_counts(con, results)
    if rows.rejected:
        con.print(f"reasons are in {out / REJECTS_FILE} (tmz data inspect {out} --rejects)", highlight=False)


@group.command("stats")
@click.argument("dataset", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--tokenizer", type=click.Path(exists=True), help="SentencePiece model: token length percentiles too."
)
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def stats_command(dataset: Path, tokenizer: str | None, as_json: bool) -> None:
    """Counts (rows, rejects by reason, examples by split/direction/dialect/script/domain) and length percentiles.

    \b
    Example:
      tmz data stats work/data
      tmz data stats work/data --tokenizer work/tiny-model/tokenizer.model --json
    """
    from tmz.data.statistics import lengths, load_dataset_dir, summary

    manifest, dd = load_dataset_dir(dataset)
    percentiles = lengths(dd, tokenizer)
    if as_json:
        click.echo(json.dumps(summary(manifest, percentiles), indent=2, ensure_ascii=False))
        return
    con = Console()
    results = manifest.results
    rows = results.rows
    con.print(
        f"[bold]{manifest.name}[/]: {rows.read} rows read, {rows.accepted} accepted, {rows.rejected} rejected"
    )
    _print_counts(con, results)
    table = Table(title="Lengths (percentiles)", title_justify="left")
    for c in ("split", "measure", "p50", "p90", "p99", "max"):
        table.add_column(c, justify="right" if c.startswith(("p", "max")) else "left")
    for split, entry in percentiles.items():
        for measure, pct in entry.items():
            if pct:
                table.add_row(split, measure, *(f"{pct[k]:.0f}" for k in ("p50", "p90", "p99", "max")))
    con.print(table)


@group.command("transliterate")
@click.argument("text", nargs=-1)
@click.option("--to", "to", type=click.Choice(["Latn", "Tfng"]), required=True, help="Target script.")
@click.option(
    "--from", "source", type=click.Choice(["Latn", "Tfng"]), help="Source script (detected if omitted)."
)
@click.option(
    "--dialect", default="zgh", show_default=True, help="Tamazight variety whose transliterator to use."
)
def transliterate_command(text: tuple[str, ...], to: str, source: str | None, dialect: str) -> None:
    """Write Tamazight text in the other script (IRCAM table); reads lines from stdin when no TEXT is given.

    \b
    Example:
      tmz data transliterate "ⴰⵣⵓⵍ ⴼⵍⵍⴰⴽ" --to Latn        # azul fllak
      echo "tanmmirt" | tmz data transliterate --to Tfng
    """
    from tmz.data.transliteration import transliterate

    lines = [" ".join(text)] if text else (ln.rstrip("\n") for ln in sys.stdin)
    for line in lines:
        click.echo(transliterate(line, to, dialect=dialect, source_script=source))


@group.command("inspect")
@click.argument("dataset", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--split", default="train", show_default=True, type=click.Choice(list(SPLITS)))
@click.option("--limit", "-n", default=5, show_default=True, help="How many rows to show.")
@click.option("--direction", help="Only rows of this direction, e.g. en_Latn->zgh_Tfng.")
@click.option("--rejects", is_flag=True, help="Show rejected rows and their reasons instead.")
def inspect_command(dataset: Path, split: str, limit: int, direction: str | None, rejects: bool) -> None:
    """Show a dataset's manifest summary and a few rows (with the prompt as the model sees it), or its rejects.

    \b
    Example:
      tmz data inspect work/data -n 3 --direction en_Latn->zgh_Tfng
      tmz data inspect work/data --rejects
    """
    from tmz.data.statistics import load_dataset_dir

    manifest, dd = load_dataset_dir(dataset)
    con = Console()
    con.print(
        f"[bold]{manifest.name}[/] ({manifest.producer.distribution} {manifest.producer.version}, "
        f"prompt {manifest.prompt_format}): {', '.join(f'{k} {len(v)}' for k, v in dd.items())} examples; "
        f"directions: {', '.join(manifest.directions)}",
        highlight=False,
    )
    if rejects:
        with open(dataset / REJECTS_FILE, encoding="utf-8") as f:
            for line in islice(f, limit):
                r = json.loads(line)
                con.print(
                    f"{r['file']}:{r['line'] or 'row ' + str(r['row'])} [{r['code']}] {r['reason']}",
                    markup=False,
                    highlight=False,
                )
        return
    ds = dd[split]
    if direction:
        ds = ds.filter(lambda d: d == direction, input_columns="direction")
    for i, row in enumerate(islice(iter(ds), limit)):
        ex = example(row, f"{dataset} {split} row {i}")
        user = " ".join((p.text or "") if p.type == "text" else "<image>" for p in ex.messages[0].content)
        answer = ex.messages[1].content[0].text
        con.rule(f"{ex.id}  group {ex.group}{'  derived' if ex.derived else ''}", align="left")
        if ex.image:
            con.print(f"image: {dataset / ex.image}", highlight=False)
        con.print(
            f"[cyan]user:[/] {escape(user)}\n[green]assistant:[/] {escape(answer or '')}", highlight=False
        )


def _print_counts(con: Console, results: DatasetResults) -> None:
    table = Table(title="Counts", title_justify="left")
    table.add_column("what")
    table.add_column("value")
    table.add_column("count", justify="right")
    examples = results.examples
    for code, n in results.rows.rejected_by_reason.items():
        table.add_row("rejected rows", code, str(n))
    for code, n in examples.pairs_dropped_by_reason.items():
        table.add_row("dropped pairs", code, str(n))
    for key in ("by_split", "by_direction", "by_dialect", "by_script", "by_domain"):
        for value, n in getattr(examples, key).items():
            table.add_row(f"examples {key.replace('_', ' ')}", str(value), str(n))
    for split, entry in results.splits.items():
        table.add_row("groups", split, str(entry.groups))
    table.add_row("examples", "derived (transliterated)", str(examples.derived))
    con.print(table)
