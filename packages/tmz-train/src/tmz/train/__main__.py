"""``python -m tmz.train ...`` runs the ``tmz train`` commands (the entry point for ``accelerate launch -m``)."""

import sys

from tmz.core.atomic import exit_on_sigterm
from tmz.core.cli import cli

if __name__ == "__main__":
    exit_on_sigterm()
    cli(["train", *sys.argv[1:]], prog_name="tmz")
