"""Registers the `tmz export` command group through tmz's plugin hooks."""

from tmz.core.hookspecs import hookimpl


@hookimpl
def register_commands(cli):
    from tmz.export.cli import group

    cli.add_command(group)
