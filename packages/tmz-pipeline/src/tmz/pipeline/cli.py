"""`tmz pipeline run` and `tmz demo`."""

from __future__ import annotations

from pathlib import Path

import click

from tmz.pipeline.config import load_config
from tmz.pipeline.demo import SEED, demo_config, find_corpus
from tmz.pipeline.run import STAGES, print_report, run_pipeline

_verbose = click.option("--verbose", "-v", is_flag=True,
                        help="Show the libraries' output (training logs, progress bars, converter and LiteRT-LM "
                             "messages) instead of writing it to WORKDIR/logs/STAGE.log.")  # fmt: skip
_until = click.option("--until", type=click.Choice(STAGES), default=None,
                      help="Stop after this stage (e.g. prepare: only build the dataset).")  # fmt: skip


@click.group("pipeline")
def group() -> None:
    """Run the whole chain from a TOML configuration.

    \b
    Example:
      tmz pipeline run examples/pipeline-gemma3-1b.toml
      tmz pipeline run examples/pipeline-gemma3-1b.toml --until export --force
    """


@group.command("run")
@click.argument("config", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Re-run every stage even when it is up to date.")
@_until
@_verbose
def run_command(config: Path, force: bool, until: str | None, verbose: bool) -> None:
    """Prepare, fine-tune, evaluate, merge, export (with parity), bundle and translate, as CONFIG says.

    A stage whose inputs (hashes) and settings are unchanged and whose artifact is intact is skipped, so a
    run resumes where a crash left it. The terminal shows one line per stage, then the summary; what the
    libraries print goes to a log per stage in the work directory (named when a stage fails).

    \b
    Example:
      tmz pipeline run examples/pipeline-gemma3-1b.toml
      tmz pipeline run examples/pipeline-gemma3-1b.toml --verbose    # the libraries' output too
      tmz pipeline run examples/pipeline-gemma3-1b.toml --until prepare
    """
    print_report(run_pipeline(load_config(config), force=force, verbose=verbose, until=until))


@click.command("demo")
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path), default=Path("work/demo"),
              show_default=True, help="Where the artifacts go.")  # fmt: skip
@click.option("--corpus", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="The corpus to learn (default: the example corpus shipped with tmz-pipeline).")  # fmt: skip
@click.option("--force", is_flag=True, help="Re-run every stage even when it is up to date.")
@click.option("--seed", type=int, default=SEED, show_default=True,
              help="Seed of the tiny model's weights and of training.")  # fmt: skip
@_until
@_verbose
def demo_command(
    workdir: Path, corpus: Path | None, force: bool, seed: int, until: str | None, verbose: bool
) -> None:
    """The whole chain offline on a tiny local model: prepare the example corpus, fine-tune until the model has
    learned it, evaluate, merge, export, bundle as .task and .litertlm, and translate through both bundles.

    The terminal shows one line per stage, then the summary and the translations; what the libraries print
    goes to WORKDIR/logs/STAGE.log (named when a stage fails).

    \b
    Example:
      tmz demo
      tmz demo --verbose                 # the libraries' output too, as they print it
      tmz demo --until prepare           # only build the dataset from the example corpus
      tmz demo --workdir /tmp/tmz-demo --force --seed 1
    """
    config = demo_config(workdir, corpus or find_corpus(), seed)
    print_report(run_pipeline(config, force=force, verbose=verbose, until=until))
