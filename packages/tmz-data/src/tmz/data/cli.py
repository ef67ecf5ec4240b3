"""`tmz data` commands."""

import click


@click.group("data")
def group() -> None:
    """Prepare parallel corpora: read, validate, normalise, expand, split."""
