"""The ``tmz`` command: a click group that plugins extend through ``register_commands``."""

from __future__ import annotations

import json
import sys
from importlib.metadata import distributions

import click
from rich.console import Console

from tmz.core.atomic import exit_on_sigterm
from tmz.core.errors import TmzError
from tmz.core.listing import print_listing
from tmz.core.plugins import ENTRY_POINT_GROUP, plugin_set


def installed_distributions() -> dict[str, str]:
    """Every installed tmz distribution (tmz-* and any with an entry point in group ``tmz``) and its version."""
    found = {}
    for dist in distributions():
        name = dist.metadata["Name"] or ""
        if name.startswith("tmz-") or any(ep.group == ENTRY_POINT_GROUP for ep in dist.entry_points):
            found[name] = dist.version
    return dict(sorted(found.items()))


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    for name, ver in installed_distributions().items():
        click.echo(f"{name} {ver}")
    ctx.exit()


class TmzGroup(click.Group):
    """Root group: adds plugin commands lazily and turns TmzError into a clear message and exit code 1."""

    _loaded = False

    def _load(self) -> None:
        if not self._loaded:
            self._loaded = True
            ps = plugin_set()
            self.command_sources = ps.add_commands(self)
            ps.warn_failures()

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load()
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        self._load()
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except TmzError as e:
            Console(stderr=True).print(f"[bold red]error:[/] {e}", markup=True, highlight=False)
            ctx.exit(1)


@click.group(cls=TmzGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=_print_version,
              help="List every installed tmz distribution and its version.")  # fmt: skip
def cli() -> None:
    """tmz: turn parallel corpora into on-device Tamazight translation models.

    \b
    Example:
      tmz plugins            # what is registered, and by which distribution
      tmz data prepare examples/corpus/phrases.csv --out work/data
    """


@cli.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def plugins_command(as_json: bool) -> None:
    """List registered languages, dialects, pairs, backends and commands, with the distribution of each.

    \b
    Example:
      tmz plugins
      TMZ_LOAD_PLUGINS=tmz-dialect-example tmz plugins --json
    """
    ps = plugin_set()
    reg = ps.registry
    root = click.get_current_context().find_root().command
    commands = getattr(root, "command_sources", {})
    data = {
        "plugins": [vars(p) for p in ps.loaded],
        "failures": [vars(f) for f in ps.failures],
        "languages": [
            {
                "code": c,
                "name": lang.name,
                "scripts": list(lang.scripts),
                "source": reg.sources[("language", c)],
            }
            for c, lang in sorted(reg.languages.items())
        ],
        "dialects": [
            {"code": c, "name": d.name, "scripts": list(d.scripts), "source": reg.sources[("dialect", c)]}
            for c, d in sorted(reg.dialects.items())
        ],
        "language_pairs": [
            {"source": s, "target": t, "from": reg.sources[("pair", str((s, t)))]}
            for (s, t) in sorted(reg.pairs)
        ],
        "directions": [d.tag for d in reg.directions()],
        "backends": [
            {
                "name": n,
                "model_id": b.model_id,
                "modalities": list(b.modalities),
                "export_task": b.export_task,
                "vocab_size": b.vocab_size,
                "source": reg.sources[("backend", n)],
            }
            for n, b in sorted(reg.backends.items())
        ],  # fmt: skip
        "commands": [{"name": n, "source": s} for n, s in sorted(commands.items())],
    }
    if as_json:
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    con = Console()
    for title, rows, cols, keys in (
        ("Plugins", data["plugins"], ("name", "distribution", "version", "module"), 2),
        ("Languages", data["languages"], ("code", "name", "scripts", "source"), 1),
        ("Dialects", data["dialects"], ("code", "name", "scripts", "source"), 1),
        ("Language pairs", data["language_pairs"], ("source", "target", "from"), 2),
        (
            "Model backends",
            data["backends"],
            ("name", "model_id", "modalities", "export_task", "vocab_size", "source"),
            1,
        ),
        ("Commands", data["commands"], ("name", "source"), 2),
    ):
        cells = [
            [", ".join(v) if isinstance(v, list) else str(v) for v in (row[c] for c in cols)] for row in rows
        ]
        print_listing(con, title, cols, cells, keys)
    con.print(f"{len(data['directions'])} directions with scripts (use --json to list them)")
    for f in data["failures"]:
        con.print(f"[red]failed:[/] {f['distribution']} ({f['entry_point']}): {f['error']}", highlight=False)


def main() -> None:
    """Console-script entry point (SIGTERM ends it like Ctrl-C: partial artifacts are removed)."""
    exit_on_sigterm()
    try:
        cli(prog_name="tmz")
    except TmzError as e:  # raised outside a command (e.g. while loading)
        click.echo(f"error: {e}", err=True)
        sys.exit(1)
