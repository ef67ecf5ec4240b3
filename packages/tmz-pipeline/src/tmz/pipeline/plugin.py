"""Registers `tmz pipeline` and `tmz demo` through tmz's plugin hooks."""

from tmz.core.hookspecs import hookimpl


@hookimpl
def register_commands(cli):
    from tmz.pipeline.cli import demo_command, group

    cli.add_command(group)
    cli.add_command(demo_command)
