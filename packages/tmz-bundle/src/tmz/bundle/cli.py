"""`tmz bundle` commands: make, inspect, verify, catalog, keygen."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from tmz.core.kinds.bundle import Sampler

SAMPLER = Sampler()  # the defaults of the sampler flags
DEFAULT_EXPIRY_DAYS = 30  # tmz.bundle.catalog's (imported lazily)


@click.group("bundle")
def group() -> None:
    """Build, inspect and verify .task/.litertlm bundles and signed catalogs.

    \b
    Example:
      tmz bundle make work/export --format litertlm --out dist
      tmz bundle verify dist/gemma3-1b-text-tmz_q8_ekv1024.litertlm
    """


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


@group.command("make")
@click.argument("export", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["task", "litertlm"]),
    default="task",
    show_default=True,
    help="task: MediaPipe LlmInference (text models); litertlm: LiteRT-LM (text and vision).",
)
@click.option(
    "--out",
    "-o",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("dist"),
    show_default=True,
    help="Directory for the bundle and its manifest.",
)
@click.option(
    "--name",
    default="tmz",
    show_default=True,
    help="Name part of the file name: <backend>-<name>_q8_ekv1024.",
)
@click.option(
    "--version", "version", default="0.1.0", show_default=True, help="Bundle version shown in catalogs."
)
@click.option(
    "--top-k", type=int, default=SAMPLER.top_k, show_default=True, help="Default sampler top-k (1 = greedy)."
)
@click.option("--top-p", type=float, default=SAMPLER.top_p, show_default=True, help="Default sampler top-p.")
@click.option(
    "--temperature",
    type=float,
    default=SAMPLER.temperature,
    show_default=True,
    help="Default sampler temperature.",
)
@click.option(
    "--allow-failed-parity", is_flag=True,
    help="Bundle an export whose parity check failed (the manifest and catalog say so).",
)  # fmt: skip
@click.option(
    "--allow-no-parity", is_flag=True,
    help="Bundle an export made with parity off (the manifest and catalog say so).",
)  # fmt: skip
def make_command(export: Path, fmt: str, out: Path, name: str, version: str, top_k: int, top_p: float,
                 temperature: float, allow_failed_parity: bool, allow_no_parity: bool) -> None:  # fmt: skip
    """Bundle an export directory (tmz export) as a .task or .litertlm with its manifest.

    The bundle embeds its manifest (languages, directions, prompt format, lineage back to the data) and
    the same manifest is written beside it as <file>.tmz-manifest.json. The sampler flags go into a .litertlm
    only (as LiteRT-LM's TOP_P sampler); a .task has no sampler field and takes its runtime's (LiteRT-LM's
    default is greedy).

    An export whose parity check failed, or that was made with parity off, is refused unless
    --allow-failed-parity / --allow-no-parity; the verdict goes into the manifest and the catalog either way.
    A bundle file already in OUT that holds another version is never replaced: use one folder per release.

    \b
    Example:
      tmz bundle make work/export --format task --out dist
      tmz bundle make work/export-vision --format litertlm --out dist --version 1.2.0
    """
    from tmz.bundle.build import bundle
    from tmz.bundle.metadata import SamplerDefaults

    with Console(stderr=True).status(f"Writing the .{fmt} bundle"):
        m = bundle(
            export, fmt, out, name=name, version=version, sampler=SamplerDefaults(top_k, top_p, temperature),
            allow_failed_parity=allow_failed_parity, allow_no_parity=allow_no_parity,
        )  # fmt: skip
    f = m.files[0]
    click.echo(f"{out / f.path}  {f.size:,} bytes  sha256 {f.sha256}")
    parity = m.results.parity
    if parity is not None and parity.allowed:
        verdict = "was not run" if parity.passed is None else "failed"
        click.secho(f"warning: the export's parity check {verdict}; the bundle and its catalog entry say so",
                    err=True, fg="yellow")  # fmt: skip


@group.command("inspect")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print everything as JSON.")
def inspect_command(path: Path, as_json: bool) -> None:
    """Show a bundle's sections, sizes, LLM metadata and embedded manifest, without loading the model.

    Reads .litertlm files made by other tools too (litert-torch's own, litert-community's).

    \b
    Example:
      tmz bundle inspect dist/gemma3-1b-text-tmz_q8_ekv1024.task
      tmz bundle inspect model.litertlm --json
    """
    from tmz.bundle.reader import inspect_bundle

    info = inspect_bundle(path)
    if as_json:
        _echo_json(info.as_dict())
        return
    con = Console()
    version = f", container {info.container_version}" if info.container_version else ""
    con.print(f"[bold]{path}[/]: .{info.format}, {info.size:,} bytes{version}", highlight=False)
    table = Table(title="Sections", title_justify="left")
    table.add_column("name", no_wrap=True)
    for col in ("type", "offset", "size"):
        table.add_column(col)
    table.add_column("metadata", overflow="fold")
    for s in info.sections:
        table.add_row(
            s.name,
            s.type,
            f"{s.offset:,}",
            f"{s.size:,}",
            ", ".join(f"{k}={v}" for k, v in s.items.items() if k != "model_type"),
        )
    con.print(table)
    if info.llm:
        con.print("[bold]LLM metadata[/]")
        con.print_json(json.dumps({k: v for k, v in info.llm.items() if k != "jinja_prompt_template"}))
    m = info.manifest
    if m is None:
        con.print("no tmz manifest (made by another tool)")
        return
    con.print(f"[bold]tmz manifest[/]: {m.name} v{m.settings.version}, backend {m.backend}, "
              f"prompt format {m.prompt_format}", highlight=False)  # fmt: skip
    con.print(f"  directions: {', '.join(m.directions) or '-'}", highlight=False)
    con.print(
        f"  dialects: {', '.join(m.dialects) or '-'}; scripts: {', '.join(m.scripts) or '-'}", highlight=False
    )
    for link in m.results.lineage:
        con.print(f"  from {link.kind} {link.name} sha256 {link.sha256[:12]}...", highlight=False)


@group.command("verify")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--public-key",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Public key (.pub) for a catalog: PATH is then a catalog.json.",
)
@click.option(
    "--smoke/--no-smoke", default=True, show_default=True, help="Load in LiteRT-LM and translate once."
)
@click.option("--text", default="Hello.", show_default=True, help="Source text of the smoke translation.")
@click.option(
    "--direction", help="Direction of the smoke translation, e.g. en_Latn->zgh_Tfng [the bundle's first]."
)
@click.option("--expect", help="Exact translation the smoke test must give.")
@click.option(
    "--min-sequence", type=click.IntRange(1),
    help="Catalog: refuse one whose sequence is below this (the newest you installed from).",
)  # fmt: skip
@click.option(
    "--state", type=click.Path(dir_okay=False, path_type=Path),
    help="Catalog: file remembering the newest sequence seen per key; older catalogs are refused.",
)  # fmt: skip
@click.option(
    "--skip-missing", is_flag=True, help="Catalog: report listed bundles not beside it, do not fail."
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def verify_command(path: Path, public_key: Path | None, smoke: bool, text: str, direction: str | None,
                   expect: str | None, min_sequence: int | None, state: Path | None, skip_missing: bool,
                   as_json: bool) -> None:  # fmt: skip
    """Verify a bundle (sha256 against its manifests, then a smoke translation) or a signed catalog.

    A bundle's layout and sections are checked against its embedded manifest, and its sha256 against the
    manifest beside it when there is one (the report says when there is none to compare with). Exits non-zero,
    naming the file, for a truncated or altered bundle, a bundle LiteRT-LM cannot run, or a catalog whose
    signature does not match, that has expired, is older than --min-sequence or the --state file's, or lists a
    bundle that is absent (unless --skip-missing) or differs.

    \b
    Example:
      tmz bundle verify dist/gemma3-1b-text-tmz_q8_ekv1024.task
      tmz bundle verify dist/catalog.json --public-key keys/tmz.pub --state ~/.local/state/tmz-catalog.json
    """
    if public_key is not None or path.suffix == ".json":
        from tmz.bundle.catalog import verify_catalog
        from tmz.bundle.errors import SigningError

        if public_key is None:
            raise SigningError(f"{path}: pass --public-key to verify a catalog's signature")
        report = verify_catalog(path, public_key, min_sequence=min_sequence, state=state,
                                skip_missing=skip_missing)  # fmt: skip
        if as_json:
            _echo_json(report)
            return
        click.echo(f"{path}: signature OK (key {report['key_id']}), sequence {report['sequence']}, expires "
                   f"{report['expires']}, {len(report['bundles'])} bundles listed, {len(report['checked'])} "
                   f"checked beside it, {len(report['absent'])} absent")  # fmt: skip
        return
    import litert_lm

    from tmz.bundle.verify import verify_bundle

    litert_lm.set_min_log_severity(
        litert_lm.LogSeverity.ERROR
    )  # the engine's INFO lines would bury the report
    with Console(stderr=True).status("Verifying"):
        report = verify_bundle(path, smoke=smoke, text=text, direction=direction, expect=expect)
    if as_json:
        _echo_json(report)
        return
    sections = f"layout and sections {', '.join(report['sections_checked'])} match its embedded manifest"
    if report["sidecar"]:
        click.echo(f"{path}: {sections}; sha256 {report['sha256']} matches {Path(report['sidecar']).name}")
    else:
        click.echo(f"{path}: {sections}; sha256 {report['sha256']} not compared (no manifest beside it: check "
                   "it against the signed catalog)")  # fmt: skip
    if report.get("smoke"):
        s = report["smoke"]
        click.echo(
            f"smoke {s['direction'] or '(no direction)'}: {s['input']!r} -> {s['output']!r} ({s['seconds']} s)"
        )


@group.command("catalog")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--key",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Private key (.key from `tmz bundle keygen`), kept outside DIRECTORY.",
)
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), help="Catalog path [DIRECTORY/catalog.json]."
)
@click.option(
    "--base-url", help="https URL the bundles will be served from; each entry gets url = BASE_URL/<file>."
)
@click.option(
    "--sequence", type=click.IntRange(1),
    help="Catalog sequence number [one above the catalog already at the output path, else 1].",
)  # fmt: skip
@click.option(
    "--expires-in", type=click.FloatRange(min=0, min_open=True), default=DEFAULT_EXPIRY_DAYS, show_default=True,
    help="Days until the catalog expires (apps refuse it after that: publish a new one before).",
)  # fmt: skip
def catalog_command(directory: Path, key: Path, out: Path | None, base_url: str | None, sequence: int | None,
                    expires_in: float) -> None:  # fmt: skip
    """Write a signed catalog.json (+ catalog.json.sig) of the bundles in DIRECTORY for in-app updates.

    Each bundle is checked against its embedded manifest (and the manifest beside it) before it is listed.
    Each entry has the bundle's name, version, languages, directions, size, sha256, minimum runtime version
    and parity verdict; the catalog has a sequence and an expiry. Set $TMZ_SIGNING_PASSPHRASE when the key
    is encrypted.

    \b
    Example:
      tmz bundle catalog dist --key ~/keys/tmz.key --base-url https://models.example.org/tmz
    """
    from datetime import timedelta

    from tmz.bundle.catalog import build_catalog, signature_path

    path = build_catalog(directory, key, out=out, base_url=base_url, sequence=sequence,
                         expires_in=timedelta(days=expires_in))  # fmt: skip
    catalog = json.loads(path.read_text())
    click.echo(f"{path}: {len(catalog['bundles'])} bundles, sequence {catalog['sequence']}, expires "
               f"{catalog['expires']}, signature {signature_path(path)}")  # fmt: skip


@group.command("keygen")
@click.argument("prefix", type=click.Path(dir_okay=False, path_type=Path))
def keygen_command(prefix: Path) -> None:
    """Make an Ed25519 key pair: PREFIX.key (private, mode 0600) and PREFIX.pub (ships with the app).

    The private key is encrypted when $TMZ_SIGNING_PASSPHRASE is set. Keep it out of any folder you publish.

    \b
    Example:
      tmz bundle keygen ~/keys/tmz
    """
    from tmz.bundle.signing import key_id, keygen, load_public_key

    private, public = keygen(prefix)
    click.echo(
        f"private key {private} (keep secret), public key {public}, key id {key_id(load_public_key(public))}"
    )
