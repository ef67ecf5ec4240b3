"""tmz publish: cards from manifests, licenses carried through, publishing to the Hugging Face Hub."""

from __future__ import annotations

from pathlib import Path

from tmz.core.atomic import write_text_atomic
from tmz.core.scoring import Evaluation
from tmz.publish.artifact import Artifact, open_artifact
from tmz.publish.card import Card, make_card
from tmz.publish.validate import check_card

__all__ = ["Artifact", "Card", "make_card", "open_artifact", "write_card"]


def write_card(
    artifact: str | Path, *, evaluation: Evaluation | None = None, links: dict[str, str] | None = None,
    out: str | Path | None = None,
) -> Path:  # fmt: skip
    """Write the card of ``artifact`` (checked offline) beside it, or to ``out``; returns where."""
    a = open_artifact(artifact)
    card = make_card(a, evaluation=evaluation, links=links)
    target = Path(out) if out is not None else a.card_path()
    check_card(card.text, card.repo_type, card.terms, str(target))
    return write_text_atomic(target, card.text)
