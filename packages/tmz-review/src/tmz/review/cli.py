"""``tmz review``: serve the review page, add reviewers, export corrections as a corpus, report results."""

from __future__ import annotations

from pathlib import Path

import click

from tmz.core.plugins import get_registry
from tmz.review.store import Store

DEFAULT_DB = "review.sqlite"


@click.group("review")
@click.option(
    "--db", "db_path", type=click.Path(path_type=Path, dir_okay=False), envvar="TMZ_REVIEW_DB", default=DEFAULT_DB,
    show_default=True, help="Review database (or set TMZ_REVIEW_DB).",
)  # fmt: skip
@click.pass_context
def review_group(ctx: click.Context, db_path: Path) -> None:
    """Field review: native speakers rate and correct translations on a local page; export the corrections.

    \b
    Example:
      tmz review add-reviewer Tifawt
      tmz review serve dist/model.litertlm --data work/data --phrasebook examples/phrasebook
      tmz review export work/review.csv && tmz data prepare work/review.csv --out work/reviewed
      tmz review report work/review-report
    """
    ctx.obj = db_path


def _store(ctx: click.Context) -> Store:
    store = Store(ctx.obj)
    ctx.call_on_close(store.close)
    return store


@review_group.command("serve")
@click.argument("bundle", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--data", "-d", "data", type=click.Path(path_type=Path), multiple=True,
    help="A dataset directory (tmz data prepare), a long corpus (.csv/.tsv/.jsonl) or a batch run's .jsonl "
    "(tmz translate --file F --out x.jsonl); repeatable.",
)  # fmt: skip
@click.option(
    "--phrasebook", "-p", "phrasebooks", type=click.Path(path_type=Path), multiple=True,
    help="Phrase-set csv or folder of them whose entries to validate (repeatable).",
)  # fmt: skip
@click.option("--split", default="test", show_default=True, help="Split of a dataset directory to review.")
@click.option(
    "--direction",
    "directions",
    multiple=True,
    help="Only this direction, e.g. en_Latn->zgh_Tfng (repeatable).",
)
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0: every interface)."
)
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option("--threads", type=click.IntRange(1), default=None, help="CPU threads for LiteRT-LM.")
@click.pass_context
def serve_command(ctx: click.Context, bundle: Path, data: tuple[Path, ...], phrasebooks: tuple[Path, ...], split: str,
                  directions: tuple[str, ...], host: str, port: int, threads: int | None) -> None:  # fmt: skip
    """Serve the review page for the translations BUNDLE gives of the data, and the phrasebook entries.

    Texts of a dataset or corpus are translated with BUNDLE (tmz-runtime, once: the answers are kept in the
    database); a batch run's answers are taken as they are, and must come from BUNDLE. Reviewers sign in
    with the token `tmz review add-reviewer` printed for them. Every judgement is committed as it is made.

    \b
    Example:
      tmz review add-reviewer Tifawt
      tmz review serve dist/model.litertlm --data work/data --phrasebook examples/phrasebook
      tmz translate -b dist/model.litertlm -f en -t zgh_Tfng --file phrases.txt --out phrases.jsonl
      tmz review serve dist/model.litertlm --data phrases.jsonl --port 8080
    """
    from tmz.review.serve import prepare, run_server

    store = _store(ctx)
    prepared = prepare(
        store, get_registry(), bundle, list(data), list(phrasebooks), split=split, directions=frozenset(directions),
        threads=threads,
    )  # fmt: skip
    config = prepared.config
    click.echo(f"{len(config.item_ids)} items to review ({prepared.new} new) in {store.path}", err=True)
    if prepared.phrases_skipped:
        click.echo(
            f"{prepared.phrases_skipped} phrases skipped: no text outside Tamazight to pair with", err=True
        )
    if not store.reviewers():
        click.secho("no reviewer yet: add one with `tmz review add-reviewer NAME`", err=True, fg="yellow")
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"review page: http://{shown}:{port}/ (Ctrl+C stops)", err=True)
    run_server(config, host, port)


@review_group.command("add-reviewer")
@click.argument("name")
@click.option(
    "--new-token", is_flag=True, help="Give an existing reviewer a new token (the old one stops working)."
)
@click.pass_context
def add_reviewer_command(ctx: click.Context, name: str, new_token: bool) -> None:
    """Create reviewer NAME and print their token (shown once; only its hash is stored).

    \b
    Example:
      tmz review add-reviewer Tifawt
      tmz review --db work/review.sqlite add-reviewer Tifawt --new-token
    """
    token = _store(ctx).add_reviewer(name, new_token=new_token)
    click.echo(f"token for {name.strip()} (give it to them; it is not shown again):", err=True)
    click.echo(token)


@review_group.command("export")
@click.argument("out", type=click.Path(path_type=Path, dir_okay=False))
@click.pass_context
def export_command(ctx: click.Context, out: Path) -> None:
    """Write corrections and approvals as a corpus csv that `tmz data prepare` reads, with provenance.

    Columns: source_language, target_language (tags such as en_Latn, zgh_Tfng), source_text, target_text,
    dialect, domain, id, group, then status (corrected or approved), reviewers, validation ("validated by N
    reviewers" for phrasebook entries), the model's text, bundle sha256, prompt format and review date.

    \b
    Example:
      tmz review export work/review.csv
      tmz data prepare work/review.csv --out work/reviewed
    """
    from tmz.review.export import export

    summary = export(_store(ctx), out)
    click.echo(
        f"{summary.corrections} corrections, {summary.approvals} approvals -> {summary.path}", err=True
    )


@review_group.command("report")
@click.argument("out_dir", type=click.Path(path_type=Path, file_okay=False))
@click.pass_context
def report_command(ctx: click.Context, out_dir: Path) -> None:
    """Write report.json and report.png into OUT_DIR: ratings, error tags, agreement and chrF++ per direction,
    variety and reviewer.

    \b
    Example:
      tmz review report work/review-report
    """
    from tmz.review.report import write_report

    for path in write_report(_store(ctx), out_dir):
        click.echo(path)
