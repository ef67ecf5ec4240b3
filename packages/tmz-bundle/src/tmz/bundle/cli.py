"""`tmz bundle` commands."""

import click


@click.group("bundle")
def group() -> None:
    """Build, inspect and verify .task/.litertlm bundles and catalogs."""
