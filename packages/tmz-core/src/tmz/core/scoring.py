"""One scoring of translations, for training-time evaluation (tmz-train) and bundle evaluation (tmz-runtime).

chrF++ (``CHRF(word_order=2)``) and BLEU (``BLEU(effective_order=True)``: short test sets have no 4-gram
matches, and plain corpus BLEU would then read 0) from sacrebleu, exact match after stripping whitespace, and
the character error rate (jiwer) of image rows. Scores are kept unrounded; reports round when they print.
Needs the ``metrics`` extra of tmz-core (sacrebleu, jiwer).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from tmz.core.dataset import Example

Modality = Literal["text", "image"]


class Scores(BaseModel):
    """Scores of one group of rows."""

    model_config = ConfigDict(extra="forbid")
    rows: int
    chrf: float = Field(description="chrF++ (character n-grams and word bigrams), 0-100")
    bleu: float = Field(description="BLEU with effective order, 0-100")
    exact: float = Field(description="share of hypotheses equal to the reference (whitespace stripped)")
    cer: float | None = Field(default=None, description="character error rate; image rows only")


class ScoreReport(BaseModel):
    """Overall and grouped scores; groups are keyed by direction tag, target script, dialect and modality."""

    model_config = ConfigDict(extra="forbid")
    overall: Scores
    by_direction: dict[str, Scores] = Field(default_factory=dict)
    by_script: dict[str, Scores] = Field(default_factory=dict, description="target script")
    by_dialect: dict[str, Scores] = Field(default_factory=dict, description="'none' for rows without one")
    by_modality: dict[Modality, Scores] = Field(default_factory=dict, description="image rows carry cer")


class Evaluation(ScoreReport):
    """A report on one split of a dataset (what an adapter or model manifest keeps in ``results.eval``)."""

    split: str


def scores(references: list[str], hypotheses: list[str], cer: bool = False) -> Scores:
    """The scores of one group (``cer``: also the character error rate)."""
    from sacrebleu.metrics import BLEU, CHRF

    n = len(references)
    if len(hypotheses) != n:
        raise ValueError(f"{len(hypotheses)} hypotheses for {n} references")
    if n == 0:
        return Scores(rows=0, chrf=0.0, bleu=0.0, exact=0.0)
    error = None
    if cer:
        import jiwer

        error = float(jiwer.cer(references, hypotheses))
    return Scores(
        rows=n,
        chrf=float(CHRF(word_order=2).corpus_score(hypotheses, [references]).score),
        bleu=float(BLEU(effective_order=True).corpus_score(hypotheses, [references]).score),
        exact=sum(h.strip() == r.strip() for h, r in zip(hypotheses, references, strict=True)) / n,
        cer=error,
    )


def score(examples: Iterable[Example], hypotheses: Iterable[str]) -> ScoreReport:
    """Score ``hypotheses`` (one per example, in order) against the examples' ``target_text``."""
    groups: dict[str, dict[str, list[tuple[str, str]]]] = defaultdict(lambda: defaultdict(list))
    everything: list[tuple[str, str]] = []
    for ex, hyp in zip(examples, hypotheses, strict=True):
        pair = (ex.target_text, hyp)
        everything.append(pair)
        groups["by_direction"][ex.direction].append(pair)
        groups["by_script"][ex.target_script].append(pair)
        groups["by_dialect"][ex.dialect or "none"].append(pair)
        groups["by_modality"][ex.modality].append(pair)

    def of(pairs: list[tuple[str, str]], cer: bool = False) -> Scores:
        refs, hyps = [r for r, _ in pairs], [h for _, h in pairs]
        return scores(refs, hyps, cer)

    tables = {
        kind: {
            key: of(pairs, kind == "by_modality" and key == "image") for key, pairs in sorted(table.items())
        }
        for kind, table in groups.items()
    }
    return ScoreReport(overall=of(everything), **tables)


def format_report(report: ScoreReport) -> list[tuple[str, Scores]]:
    """The report's groups as ``(label, scores)`` lines, overall first, for tables."""
    lines = [("overall", report.overall)]
    for kind in ("by_direction", "by_script", "by_dialect", "by_modality"):
        lines += [(f"{kind.removeprefix('by_')}: {key}", s) for key, s in getattr(report, kind).items()]
    return lines
