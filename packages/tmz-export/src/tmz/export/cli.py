"""`tmz export` commands."""

import click


@click.group("export")
def group() -> None:
    """Convert a merged checkpoint to TFLite and check parity."""
