"""Registers the `tmz train` command group through tmz's plugin hooks."""

from tmz.core.hookspecs import hookimpl


@hookimpl
def register_commands(cli):
    from tmz.train.cli import group

    cli.add_command(group)
