"""`tmz runtime` commands."""

import click


@click.group("runtime")
def group() -> None:
    """Translate with a bundle on LiteRT-LM."""
