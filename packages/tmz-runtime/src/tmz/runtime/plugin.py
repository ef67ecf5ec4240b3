"""Registers tmz-runtime's top-level commands (translate, history, phrasebook, eval, bench) through tmz's hooks."""

from tmz.core.hookspecs import hookimpl


@hookimpl
def register_commands(cli):
    from tmz.runtime.cli import COMMANDS

    for command in COMMANDS:
        cli.add_command(command)
