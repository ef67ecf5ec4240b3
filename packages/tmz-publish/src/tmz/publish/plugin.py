"""Registers ``tmz publish`` and ``tmz card`` with the tmz CLI."""

from __future__ import annotations

from tmz.core.hookspecs import hookimpl


@hookimpl
def register_commands(cli) -> None:
    from tmz.publish.cli import card_command, publish_command

    cli.add_command(card_command)
    cli.add_command(publish_command)
