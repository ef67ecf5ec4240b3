"""`tmz pipeline run` and `tmz demo`."""

from __future__ import annotations

from pathlib import Path

import click

from tmz.pipeline.config import load_config
from tmz.pipeline.demo import demo_config, find_corpus
from tmz.pipeline.run import print_report, run_pipeline


@click.group("pipeline")
def group() -> None:
    """Run the whole chain from a TOML configuration."""


@group.command("run")
@click.argument("config", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Re-run every stage even when it is up to date.")
def run_command(config: Path, force: bool) -> None:
    """Prepare, fine-tune, evaluate, merge, export (with parity), bundle and translate, as CONFIG says.

    A stage whose inputs (hashes) and settings are unchanged and whose artifact is intact is skipped, so a
    run resumes where a crash left it.

    \b
    Example:
      tmz pipeline run examples/pipeline-gemma3-1b.toml
    """
    print_report(run_pipeline(load_config(config), force=force))


@click.command("demo")
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path), default=Path("work/demo"),
              show_default=True, help="Where the artifacts go.")  # fmt: skip
@click.option("--corpus", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="The corpus to learn (default: the project's examples/corpus/phrases.csv).")  # fmt: skip
@click.option("--force", is_flag=True, help="Re-run every stage even when it is up to date.")
def demo_command(workdir: Path, corpus: Path | None, force: bool) -> None:
    """The whole chain offline on a tiny local model: prepare the example corpus, fine-tune until the model has
    learned it, evaluate, merge, export, bundle as .task and .litertlm, and translate through both bundles.

    \b
    Example:
      tmz demo
      tmz demo --workdir /tmp/tmz-demo --force
    """
    config = demo_config(workdir, corpus or find_corpus())
    print_report(run_pipeline(config, force=force))
