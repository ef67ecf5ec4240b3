"""``python -m tmz.train ...`` runs the ``tmz train`` commands (the entry point for ``accelerate launch -m``)."""

import sys

from tmz.core.cli import cli

if __name__ == "__main__":
    cli(["train", *sys.argv[1:]], prog_name="tmz")
