"""The review report: per direction, variety and reviewer, mean ratings, error tags, agreement and chrF++ of
the model's output against the reviewed text (a correction, or the output itself where it was approved)."""

from __future__ import annotations

import io
import os
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from tmz.core.atomic import write_bytes_atomic, write_text_atomic
from tmz.core.scoring import Scores, scores
from tmz.review.agreement import Agreement, agreement
from tmz.review.errors import NoJudgementsError
from tmz.review.item import Item
from tmz.review.judgement import ERROR_NAMES, Judgement
from tmz.review.store import Store

REPORT_JSON, REPORT_PNG = "report.json", "report.png"


class GroupReport(BaseModel):
    """The judgements of one group."""

    model_config = ConfigDict(extra="forbid")
    judgements: int
    items: int
    adequacy: float = Field(description="mean, 1-5")
    fluency: float = Field(description="mean, 1-5")
    errors: dict[str, int] = Field(description="judgements with each error tag")
    corrected: int
    approved: int
    chrf: Scores = Field(
        description="model output vs the reviewed text, over corrected and approved judgements"
    )
    agreement: Agreement


class ReviewReport(BaseModel):
    model_config = ConfigDict(extra="forbid")
    database: str
    overall: GroupReport
    by_direction: dict[str, GroupReport]
    by_variety: dict[str, GroupReport] = Field(description="'none' for items without a Tamazight side")
    by_reviewer: dict[str, GroupReport]


Pair = tuple[Judgement, Item]


def group_report(pairs: list[Pair]) -> GroupReport:
    judgements = [j for j, _ in pairs]
    n = len(judgements)
    tags = Counter(tag for j in judgements for tag in j.errors)
    reviewed = [(j.correction if j.correction is not None else item.text, item.text)
                for j, item in pairs if j.correction is not None or j.approved]  # fmt: skip
    return GroupReport(
        judgements=n,
        items=len({j.item_id for j in judgements}),
        adequacy=sum(j.adequacy for j in judgements) / n,
        fluency=sum(j.fluency for j in judgements) / n,
        errors={tag: tags[tag] for tag in ERROR_NAMES},
        corrected=sum(j.correction is not None for j in judgements),
        approved=sum(j.approved for j in judgements),
        chrf=scores([ref for ref, _ in reviewed], [hyp for _, hyp in reviewed]),
        agreement=agreement(judgements),
    )


def _groups(pairs: list[Pair], key: Callable[[Pair], str]) -> dict[str, GroupReport]:
    groups: dict[str, list[Pair]] = {}
    for p in pairs:
        groups.setdefault(key(p), []).append(p)
    return {k: group_report(v) for k, v in sorted(groups.items())}


def build_report(store: Store) -> ReviewReport:
    """The report over every judgement in the database; NoJudgementsError when there is none yet."""
    pairs = store.judgements()
    if not pairs:
        raise NoJudgementsError(
            f"{store.path}: no judgements yet; review some items with `tmz review serve` first"
        )
    return ReviewReport(
        database=str(store.path),
        overall=group_report(pairs),
        by_direction=_groups(pairs, lambda p: p[0].direction),
        by_variety=_groups(pairs, lambda p: p[1].variety),
        by_reviewer=_groups(pairs, lambda p: p[0].reviewer),
    )


def plot(report: ReviewReport) -> bytes:
    """A PNG: mean ratings per direction, variety and reviewer, and error-tag counts."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, axes = plt.subplots(2, 2, figsize=(12, 8.5))
    panels = (
        ("direction", report.by_direction),
        ("variety", report.by_variety),
        ("reviewer", report.by_reviewer),
    )
    for ax, (name, groups) in zip(axes.flat, panels, strict=False):
        labels = list(groups)
        xs = range(len(labels))
        ax.bar(
            [x - 0.2 for x in xs],
            [g.adequacy for g in groups.values()],
            0.4,
            label="adequacy",
            color="#0b6e4f",
        )
        ax.bar(
            [x + 0.2 for x in xs], [g.fluency for g in groups.values()], 0.4, label="fluency", color="#f2a900"
        )
        ax.set_xticks(list(xs), labels, rotation=20, ha="right", fontsize=8)
        ax.set_ylim(0, 5.4)
        ax.set_ylabel("mean rating (1-5)")
        ax.set_title(f"by {name}")
        ax.legend(loc="lower right", fontsize=8)
    ax = axes.flat[3]
    errors = report.overall.errors
    ax.barh(list(errors), list(errors.values()), color="#a4161a")
    ax.invert_yaxis()
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("judgements")
    ax.set_title("error tags")
    o = report.overall
    alpha = ", ".join(
        f"{s} {v:.2f}" if v is not None else f"{s} n/a"
        for s, v in (("adequacy", o.agreement.adequacy), ("fluency", o.agreement.fluency))
    )
    fig.suptitle(
        f"{o.judgements} judgements of {o.items} items by {o.agreement.reviewers} reviewers - "
        f"chrF++ {o.chrf.chrf:.1f} (model vs reviewed, {o.chrf.rows} rows) - Krippendorff's alpha: {alpha}"
    )
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    return buf.getvalue()


def write_report(store: Store, out_dir: str | os.PathLike[str]) -> tuple[Path, Path]:
    """Write ``report.json`` and ``report.png`` into ``out_dir`` (each atomically)."""
    report = build_report(store)
    out = Path(out_dir)
    return (
        write_text_atomic(out / REPORT_JSON, report.model_dump_json(indent=2) + "\n"),
        write_bytes_atomic(out / REPORT_PNG, plot(report)),
    )
