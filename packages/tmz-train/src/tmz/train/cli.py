"""`tmz train` commands."""

import click


@click.group("train")
def group() -> None:
    """Fine-tune, evaluate and merge Gemma 3 translation models."""
