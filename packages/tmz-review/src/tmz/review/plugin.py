"""Registers ``tmz review`` through tmz's hooks."""

from tmz.core.hookspecs import hookimpl


@hookimpl
def register_commands(cli):
    from tmz.review.cli import review_group

    cli.add_command(review_group)
