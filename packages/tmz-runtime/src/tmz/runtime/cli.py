"""Top-level commands of tmz-runtime: ``tmz translate``, ``tmz history``, ``tmz phrasebook``, ``tmz eval``, ``tmz bench``."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, replace
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from tmz.core.atomic import write_text_atomic
from tmz.core.plugins import get_registry
from tmz.core.prompt import Side
from tmz.runtime.errors import HistoryError
from tmz.runtime.history import History, default_history_path
from tmz.runtime.languages import sides
from tmz.runtime.phrasebook import Phrasebook
from tmz.runtime.translation import ACTIVATIONS, DEFAULT_MAX_TOKENS, Sampling, Translation

threads_option = click.option(
    "--threads", type=click.IntRange(1), default=None, help="CPU threads for LiteRT-LM."
)
activation_option = click.option(
    "--activation", type=click.Choice(ACTIVATIONS), default=None,
    help="LiteRT-LM activation data type (default: the engine's, fp16 on CPU; float32 follows PyTorch).",
)  # fmt: skip
bundle_option = click.option(
    "--bundle", "-b", "bundle", type=click.Path(path_type=Path), envvar="TMZ_BUNDLE", required=True,
    help="The .task or .litertlm bundle (or set TMZ_BUNDLE).",
)  # fmt: skip
phrasebook_option = click.option(
    "--phrasebook", "-p", "phrasebooks", type=click.Path(path_type=Path), multiple=True, envvar="TMZ_PHRASEBOOK",
    help="Phrase-set csv or folder of them, looked up before the model (repeatable; or TMZ_PHRASEBOOK, "
    "paths separated by the OS path separator).",
)  # fmt: skip
history_option = click.option(
    "--history", "history_path", type=click.Path(path_type=Path), default=None,
    help="History database (default: $TMZ_HISTORY, else ~/.local/share/tmz/history.sqlite).",
)  # fmt: skip


def _phrasebook(paths: tuple[Path, ...]) -> Phrasebook | None:
    return Phrasebook.load(get_registry(), paths) if paths else None


_CONTROL = {c: f"\\x{c:02x}" for c in (*range(0x20), 0x7F, *range(0x80, 0xA0))}


def printable(text: str) -> str:
    """``text`` with control characters (ESC, CR, newline, C1 ...) written as ``\\xNN``, so that text stored
    from input cannot move the cursor, recolour or retitle the terminal it is printed to."""
    return text.translate(_CONTROL)


def _describe(t: Translation) -> str:
    if t.origin == "phrasebook":
        where = f"phrasebook {t.phrase_set}/{t.phrase_id}" + (f", {t.validation}" if t.validation else "")
    else:
        where = "model"
    conv = f", transliterated from {t.converted_from}" if t.converted_from else ""
    return printable(f"[{where}, {t.direction}, {t.latency_s * 1000:.0f} ms{conv}]")


def _open_history(path: Path | None) -> History | None:
    """The history database, or None with a warning when it cannot be used: translation goes on without it."""
    try:
        return History(path or default_history_path())
    except HistoryError as e:
        click.secho(f"warning: {e}; translating without history", err=True, fg="yellow")
        return None


def stdin_lines(text: str) -> list[str]:
    """The lines of piped text, split at newlines only (as ``wc -l`` and ``paste`` count them)."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line.removesuffix("\r") for line in lines]


@click.command("translate")
@click.argument("text", nargs=-1)
@click.option(
    "--from", "-f", "src", help="Source language: code, tag (zgh_Latn) or name. Not needed with --image."
)
@click.option("--to", "-t", "tgt", required=True, help="Target language: code, tag (zgh_Tfng) or name.")
@click.option(
    "--script", "-s", help="Target script (Tfng, Latn, Arab or its name); default: the language's first."
)
@click.option("--src-script", help="Source script; default: detected from the text.")
@click.option("--dialect", "-d", help="Tamazight variety of the Tamazight side (e.g. tzm).")
@bundle_option
@phrasebook_option
@click.option("--stream", is_flag=True, help="Print the text as it is generated.")
@click.option(
    "--image", type=click.Path(path_type=Path, dir_okay=False), help="Translate the text in this image."
)
@click.option(
    "--file",
    "in_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Translate a text file line by line.",
)
@click.option(
    "--out", type=click.Path(path_type=Path), help="With --file: output (.jsonl for full records, else text)."
)
@history_option
@click.option(
    "--no-history", is_flag=True, envvar="TMZ_NO_HISTORY", help="Keep no history (or set TMZ_NO_HISTORY=1)."
)
@click.option(
    "--max-tokens",
    type=click.IntRange(1),
    default=DEFAULT_MAX_TOKENS,
    show_default=True,
    help="Most tokens to generate.",
)
@click.option(
    "--temperature",
    type=click.FloatRange(0),
    default=0.0,
    show_default=True,
    help="0 with top-k 1 is greedy.",
)
@click.option("--top-k", type=click.IntRange(1), default=1, show_default=True)
@click.option("--top-p", type=click.FloatRange(0, 1), default=None)
@click.option("--seed", type=int, default=0, show_default=True)
@threads_option
@activation_option
@click.option("--json", "as_json", is_flag=True, help="Print each answer as a JSON record.")
def translate_command(
    text: tuple[str, ...], src: str | None, tgt: str, script: str | None, src_script: str | None,
    dialect: str | None, bundle: Path, phrasebooks: tuple[Path, ...], stream: bool, image: Path | None,
    in_file: Path | None, out: Path | None, history_path: Path | None, no_history: bool, max_tokens: int,
    temperature: float, top_k: int, top_p: float | None, seed: int, threads: int | None, activation: str | None,
    as_json: bool,
) -> None:  # fmt: skip
    """Translate text (arguments, or one segment per stdin line), an image, or a file, with a bundle.

    The phrasebook answers first when it holds the phrase; each answer says where it came from, and for a
    phrasebook answer whether reviewers validated it (on stderr, or in the JSON record). From stdin, each input
    line gives one output line (a blank line stays blank; null with --json). Translations go to the history
    unless --no-history; a history database that cannot be used is warned about and skipped.

    \b
    Example:
      tmz translate -b dist/tiny.litertlm --from en --to zgh "Where is the hospital?"
      echo "Help!" | tmz translate -b model.task -f en -t "Tamazight (Latin)" -p examples/phrasebook
      tmz translate -b model.litertlm -f fr -t zgh_Tfng --stream "Merci beaucoup"
      tmz translate -b vision.litertlm -t zgh --image sign.png
      tmz translate -b model.task -f en -t zgh --file phrases.txt --out phrases.zgh.txt
    """
    from tmz.runtime.batch import translate_file
    from tmz.runtime.translator import Translator

    if image is None and src is None:
        raise click.UsageError("--from is required unless --image is given")
    if (out is None) != (in_file is None):
        raise click.UsageError("--file and --out go together")
    history = None if no_history or in_file else _open_history(history_path)
    sampling = Sampling(top_k=top_k, top_p=top_p, temperature=temperature, seed=seed)
    options = dict(script=script, dialect=dialect, src_script=src_script, max_tokens=max_tokens)
    translator = Translator(
        bundle, phrasebook=_phrasebook(phrasebooks), history=history, sampling=sampling, threads=threads,
        activation=activation,
    )  # fmt: skip

    def show(t: Translation) -> None:
        if as_json:
            click.echo(json.dumps(asdict(t), ensure_ascii=False))
        else:
            if not stream:
                click.echo(t.text)
            click.secho(_describe(t), err=True, dim=True)

    with translator:
        if image is not None:
            show(translator.translate_image(image, tgt, src=src, **options))
            return
        assert src is not None
        if in_file is not None:
            assert out is not None
            results = translate_file(translator, in_file, out, src, tgt, **options)
            done = [r for r in results if r]
            from_book = sum(r.origin == "phrasebook" for r in done)
            click.echo(f"{len(done)} lines translated ({from_book} from the phrasebook) -> {out}", err=True)
            return
        piped = not text
        segments = stdin_lines(sys.stdin.read()) if piped else [" ".join(text)]
        if not any(segment.strip() for segment in segments):
            raise click.UsageError("nothing to translate: pass TEXT or pipe lines on stdin")
        for segment in segments:
            if not segment.strip():  # kept, so that output line n is the translation of input line n
                click.echo("null" if as_json else "")
            elif stream and not as_json:
                chunks = translator.stream(segment, src, tgt, **options)
                for chunk in chunks:
                    click.echo(" ".join(chunk.split("\n")) if piped else chunk, nl=False)
                click.echo()
                assert chunks.result is not None
                show(chunks.result)
            else:
                t = translator.translate(segment, src, tgt, **options)
                show(replace(t, text=" ".join(t.text.splitlines())) if piped and not as_json else t)
            if translator.history_error is not None and history is not None:
                click.secho(f"warning: {translator.history_error}; going on without history", err=True,
                            fg="yellow")  # fmt: skip
                history = None


# -- history ----------------------------------------------------------------------------------------
@click.group("history")
@history_option
@click.pass_context
def history_group(ctx: click.Context, history_path: Path | None) -> None:
    """Past translations and favourites: list and search, favourite, delete, clear, export.

    \b
    Example:
      tmz history list hospital
      tmz history favourite 12
      tmz history export history.csv --format csv
    """
    ctx.obj = History(history_path or default_history_path())
    ctx.call_on_close(ctx.obj.close)


@history_group.command("list")
@click.argument("query", required=False)
@click.option("--favourites", is_flag=True, help="Only favourites.")
@click.option("--language", "-l", help="Only translations from or to this language code.")
@click.option("--limit", type=click.IntRange(1), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines.")
@click.pass_obj
def history_list(history: History, query: str | None, favourites: bool, language: str | None, limit: int,
                 as_json: bool) -> None:  # fmt: skip
    """List translations, newest first; QUERY matches the source or the result text.

    \b
    Example:
      tmz history list
      tmz history list ⴰⵙⴱⵉⵟⴰⵔ --language zgh --json
    """
    entries = history.search(query, favourites=favourites, language=language, limit=limit)
    if as_json:
        for e in entries:
            click.echo(json.dumps(asdict(e), ensure_ascii=False))
        return
    table = Table("id", "time", "direction", "text", "result", "from", "ms", "★")
    for e in entries:
        cells = (e.created[:19], e.direction, e.source_text or "(image)", e.result, e.origin)
        table.add_row(str(e.id), *(escape(printable(c)) for c in cells), f"{e.latency_s * 1000:.0f}",
                      "★" if e.favourite else "")  # fmt: skip
    Console().print(table)


@history_group.command("favourite")
@click.argument("entry_id", type=int)
@click.option("--off", is_flag=True, help="Remove from favourites.")
@click.pass_obj
def history_favourite(history: History, entry_id: int, off: bool) -> None:
    """Mark an entry as favourite (or not, with --off).

    \b
    Example:
      tmz history favourite 12
    """
    history.favourite(entry_id, not off)


@history_group.command("delete")
@click.argument("entry_ids", type=int, nargs=-1, required=True)
@click.pass_obj
def history_delete(history: History, entry_ids: tuple[int, ...]) -> None:
    """Delete entries by id.

    \b
    Example:
      tmz history delete 12 13
    """
    for entry_id in entry_ids:
        history.delete(entry_id)


@history_group.command("clear")
@click.option("--all", "everything", is_flag=True, help="Delete favourites too.")
@click.pass_obj
def history_clear(history: History, everything: bool) -> None:
    """Delete the history (favourites are kept unless --all).

    \b
    Example:
      tmz history clear
    """
    click.echo(f"deleted {history.clear(keep_favourites=not everything)} entries", err=True)


@history_group.command("export")
@click.argument("out", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default=None,
              help="Default: from OUT's suffix (csv), else jsonl.")  # fmt: skip
@click.option("--favourites", is_flag=True, help="Only favourites.")
@click.pass_obj
def history_export(history: History, out: Path, fmt: str | None, favourites: bool) -> None:
    """Write the history to a jsonl or csv file, oldest first.

    \b
    Example:
      tmz history export my-history.csv
    """
    fmt = fmt or ("csv" if out.suffix == ".csv" else "jsonl")
    click.echo(
        err=True, message=f"exported {history.export(out, fmt, favourites=favourites)} entries -> {out}"
    )  # type: ignore[arg-type]


# -- phrasebook -------------------------------------------------------------------------------------
@click.group("phrasebook")
def phrasebook_group() -> None:
    """Curated phrase sets (wide csv: one column per language-script) that answer before the model.

    \b
    Example:
      tmz phrasebook list examples/phrasebook
      tmz phrasebook lookup examples/phrasebook "Where is the hospital?" --from en --to zgh_Latn
    """


@phrasebook_group.command("list")
@click.argument("paths", type=click.Path(path_type=Path), nargs=-1, required=True)
@click.option("--set", "phrase_set", help="Only this phrase set (file stem, e.g. emergency).")
def phrasebook_list(paths: tuple[Path, ...], phrase_set: str | None) -> None:
    """Check phrase sets and list their phrases (a bad file is reported with its line).

    \b
    Example:
      tmz phrasebook list examples/phrasebook --set emergency
    """
    book = Phrasebook.load(get_registry(), paths)
    columns = sorted({c for p in book for c in p.texts})
    table = Table("set", "id", *(f"{c}_{s}" for c, s in columns))
    for p in book:
        if phrase_set is None or p.phrase_set == phrase_set:
            table.add_row(p.phrase_set, p.id, *(p.texts.get(c, "") for c in columns))
    Console().print(table)
    click.echo(f"{len(book)} phrases in {len(book.sets)} sets: {', '.join(book.sets)}", err=True)


@phrasebook_group.command("lookup")
@click.argument("path", type=click.Path(path_type=Path))
@click.argument("text")
@click.option("--from", "-f", "src", required=True, help="Source language.")
@click.option("--to", "-t", "tgt", required=True, help="Target language.")
@click.option("--script", "-s", help="Target script.")
def phrasebook_lookup(path: Path, text: str, src: str, tgt: str, script: str | None) -> None:
    """Look TEXT up in the phrase sets at PATH, without any model; exit 1 when it is not there.

    \b
    Example:
      tmz phrasebook lookup examples/phrasebook "help!" -f en -t zgh
    """
    registry = get_registry()
    source, target = sides(registry, src, tgt, text, script)
    match = Phrasebook.load(registry, [path]).lookup(text, source, target)
    if match is None:
        click.echo(f"not in the phrasebook ({_tag(source)} -> {_tag(target)})", err=True)
        sys.exit(1)
    click.echo(match.text)
    p = match.phrase
    click.secho(printable(f"[phrasebook {p.phrase_set}/{p.id}, {p.validation}]"), err=True, dim=True)


def _tag(side: Side) -> str:
    return f"{side.language}_{side.script}"


# -- eval and bench ---------------------------------------------------------------------------------
def _write_json(text: str, out: Path | None) -> None:
    """Print a JSON document, or write it to ``out`` atomically."""
    if out is None:
        click.echo(text, nl=False)
    else:
        write_text_atomic(out, text)
        click.echo(f"wrote {out}", err=True)


@click.command("eval")
@click.argument("bundle", type=click.Path(path_type=Path))
@click.argument("data", type=click.Path(path_type=Path, file_okay=False))
@click.option("--split", default="test", show_default=True, help="Dataset split to score.")
@click.option("--limit", type=click.IntRange(1), help="At most this many rows per direction and modality.")
@click.option("--max-tokens", type=click.IntRange(1), default=DEFAULT_MAX_TOKENS, show_default=True,
              help="Most tokens to generate per row.")  # fmt: skip
@click.option(
    "--out", "-o", type=click.Path(path_type=Path, dir_okay=False), help="Write the JSON report here."
)
def eval_command(
    bundle: Path, data: Path, split: str, limit: int | None, max_tokens: int, out: Path | None
) -> None:
    """Score BUNDLE on the dataset DATA via LiteRT-LM: chrF++, BLEU and exact match overall and by direction,
    script, dialect and modality (CER for image rows).

    \b
    Example:
      tmz eval dist/tiny.litertlm work/data --limit 50 -o work/eval.json
    """
    from tmz.core.scoring import format_report
    from tmz.runtime.evaluate import evaluate

    report = evaluate(bundle, data, split=split, limit=limit, max_tokens=max_tokens)
    table = Table("group", "rows", "chrF++", "BLEU", "exact", "CER")
    for label, s in format_report(report.scores):
        cer = "" if s.cer is None else f"{s.cer:.3f}"
        table.add_row(label, str(s.rows), f"{s.chrf:.1f}", f"{s.bleu:.1f}", f"{s.exact:.2f}", cer)
    Console(stderr=True).print(table)
    _write_json(report.model_dump_json(indent=2) + "\n", out)


@click.command("bench")
@click.argument("bundle", type=click.Path(path_type=Path))
@click.option(
    "--prompt-tokens", default="32,128,512", show_default=True, help="Prompt lengths, comma-separated."
)
@click.option("--decode-tokens", type=click.IntRange(1), default=32, show_default=True)
@click.option("--repeats", type=click.IntRange(1), default=3, show_default=True)
@threads_option
@activation_option
@click.option("--out", "-o", type=click.Path(path_type=Path, dir_okay=False), help="Write the JSON here.")
def bench_command(bundle: Path, prompt_tokens: str, decode_tokens: int, repeats: int, threads: int | None,
                  activation: str | None, out: Path | None) -> None:  # fmt: skip
    """Time to first token, prefill and decode tokens/s and peak RSS of BUNDLE for several prompt lengths.

    \b
    Example:
      tmz bench dist/tiny.litertlm --prompt-tokens 16,64 -o bench/results/runtime_tiny.json
      tmz bench dist/tiny.litertlm --activation float32
    """
    from tmz.runtime.benchmark import benchmark

    try:
        lengths = [int(x) for x in prompt_tokens.split(",") if x.strip()]
    except ValueError:
        raise click.BadParameter(
            f"{prompt_tokens!r}: write lengths like 32,128,512", param_hint="--prompt-tokens"
        ) from None
    report = benchmark(bundle, prompt_tokens=lengths, decode_tokens=decode_tokens, repeats=repeats,
                       threads=threads, activation=activation)  # fmt: skip
    _write_json(json.dumps(report, indent=2, ensure_ascii=False) + "\n", out)


COMMANDS = (translate_command, history_group, phrasebook_group, eval_command, bench_command)
