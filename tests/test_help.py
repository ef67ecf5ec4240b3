"""Every command of `tmz`, tmz's own and the installed plugins', has --help with an example."""

from __future__ import annotations

from collections.abc import Iterator

import click
import pytest

from tmz.core.cli import cli


def commands(
    cmd: click.Command = cli, path: tuple[str, ...] = ("tmz",)
) -> Iterator[tuple[str, click.Command]]:
    yield " ".join(path), cmd
    if isinstance(cmd, click.Group):
        ctx = click.Context(cmd)
        for name in cmd.list_commands(ctx):
            yield from commands(cmd.get_command(ctx, name), (*path, name))


ALL = dict(commands())


def test_the_command_tree_is_walked() -> None:
    # the packages' groups and a few leaves: a walk that found nothing would pass everything below
    assert {"tmz data prepare", "tmz train run", "tmz export run", "tmz bundle make", "tmz translate",
            "tmz pipeline run", "tmz demo", "tmz plugins", "tmz review serve"} <= set(ALL)  # fmt: skip


@pytest.mark.parametrize("name", sorted(ALL))
def test_help_has_an_example(name: str) -> None:
    cmd = ALL[name]
    text = cmd.get_help(click.Context(cmd, info_name=name))
    assert "Example" in text, f"`{name} --help` shows no example"
    example = text.split("Example", 1)[1]
    assert name.split()[-1] in example or name == "tmz", f"`{name} --help`: the example does not run {name}"
