"""``tmz card`` and ``tmz publish``."""

from __future__ import annotations

from pathlib import Path

import click
from pydantic import ValidationError

from tmz.core.scoring import Evaluation
from tmz.publish.card import LINKS
from tmz.publish.errors import PublishError

_artifact = click.argument("artifact", type=click.Path(exists=True, path_type=Path))
_evaluation = click.option(
    "--evaluation", type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Scores to report (JSON of an Evaluation, e.g. the pipeline's evaluation.json) instead of the lineage's.",
)  # fmt: skip
_link = click.option(
    "--link", "links", multiple=True, metavar="KIND=ORG/NAME",
    help=f"Where an artifact of the lineage was published ({', '.join(LINKS)}); repeatable.",
)  # fmt: skip


def parse_links(items: tuple[str, ...]) -> dict[str, str]:
    """``("dataset=org/data", ...)`` as a mapping; PublishError naming a malformed item."""
    links = {}
    for item in items:
        kind, sep, repo = item.partition("=")
        if not sep or kind not in LINKS or "/" not in repo:
            raise PublishError(f"--link {item!r}: write KIND=ORG/NAME with KIND one of {', '.join(LINKS)}")
        links[kind] = repo
    return links


def read_evaluation(path: Path | None) -> Evaluation | None:
    """The scores of ``path`` (an Evaluation as JSON), or None."""
    if path is None:
        return None
    try:
        return Evaluation.model_validate_json(path.read_text(encoding="utf-8"))
    except (ValidationError, UnicodeDecodeError) as e:
        raise PublishError(
            f"{path}: not an evaluation report (tmz train eval's, or the pipeline's evaluation.json): {e}"
        ) from e


@click.command("card")
@_artifact
@click.option(
    "--out",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the card here (README.md beside the artifact: --out ARTIFACT/README.md); default: print it.",
)
@_evaluation
@_link
def card_command(artifact: Path, out: Path | None, evaluation: Path | None, links: tuple[str, ...]) -> None:
    """Make the Hugging Face Hub card (README.md) of an artifact from its manifests, checked offline.

    ARTIFACT is a dataset, adapter, model or export directory, or a bundle file (.task, .litertlm).

    \b
    Example:
      tmz card work/model
      tmz card work/data --out work/data/README.md
      tmz card dist/tiny-tmz_q8_ekv256.task --link model=my-org/tmz-zgh-model --evaluation work/evaluation.json
    """
    from tmz.core.atomic import write_text_atomic
    from tmz.publish.artifact import open_artifact
    from tmz.publish.card import make_card
    from tmz.publish.validate import check_card

    card = make_card(
        open_artifact(artifact), evaluation=read_evaluation(evaluation), links=parse_links(links)
    )
    check_card(card.text, card.repo_type, card.terms, str(out or artifact))
    if out is None:
        click.echo(card.text, nl=False)
        return
    write_text_atomic(out, card.text)
    click.echo(f"card written to {out} (license {card.license})", err=True)


@click.command("publish")
@_artifact
@click.option(
    "--repo", required=True, metavar="ORG/NAME", help="The Hugging Face Hub repository to upload to."
)
@click.option("--private", is_flag=True, help="Create the repository private.")
@click.option(
    "--dry-run", is_flag=True, help="List what would be uploaded (files, card, license); upload nothing."
)
@click.option(
    "--card",
    "card_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The card to upload (default: the one beside the artifact, else one made from the manifests).",
)
@_evaluation
@_link
def publish_command(artifact: Path, repo: str, private: bool, dry_run: bool, card_file: Path | None,
                    evaluation: Path | None, links: tuple[str, ...]) -> None:  # fmt: skip
    """Upload an artifact with its card to the Hugging Face Hub (token: HF_TOKEN).

    Refuses an artifact whose lineage records no license, or whose card does not state the license terms the
    lineage carries (the strictest wins; ShareAlike and non-commercial terms are noted).

    \b
    Example:
      tmz publish dist/tiny-tmz_q8_ekv256.task --repo my-org/tmz-zgh-task --dry-run
      HF_TOKEN=hf_... tmz publish work/data --repo my-org/tmz-zgh-data --private
      tmz publish work/model --repo my-org/tmz-zgh-model --link dataset=my-org/tmz-zgh-data
    """
    from tmz.publish.artifact import open_artifact
    from tmz.publish.upload import describe, plan, upload

    p = plan(open_artifact(artifact), repo, private=private, card_file=card_file,
             evaluation=read_evaluation(evaluation), links=parse_links(links))  # fmt: skip
    for line in describe(p):
        click.echo(line)
    if dry_run:
        click.echo("dry run: nothing uploaded")
        return
    click.echo(f"uploaded: {upload(p)}")
