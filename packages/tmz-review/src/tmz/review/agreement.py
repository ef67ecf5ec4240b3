"""Agreement between reviewers: Krippendorff's alpha (ordinal) on the 1-5 ratings, items rated by two or more."""

from __future__ import annotations

import math
import warnings

import krippendorff
import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from tmz.review.judgement import RATINGS, Judgement


class Agreement(BaseModel):
    """Alpha per scale; None with a note when it is undefined (no shared item, or every rating the same)."""

    model_config = ConfigDict(extra="forbid")
    adequacy: float | None = Field(description="Krippendorff's alpha, ordinal")
    fluency: float | None = Field(description="Krippendorff's alpha, ordinal")
    shared_items: int = Field(description="items rated by two or more reviewers")
    reviewers: int
    note: str | None = None


def _alpha(matrix: np.ndarray) -> float | None:
    with warnings.catch_warnings():
        warnings.simplefilter(
            "ignore", RuntimeWarning
        )  # 0/0 when every rating is the same: nan, reported as None
        value = krippendorff.alpha(
            reliability_data=matrix, level_of_measurement="ordinal", value_domain=list(RATINGS)
        )
    return None if math.isnan(value) else float(value)


def agreement(judgements: list[Judgement]) -> Agreement:
    """Krippendorff's alpha of adequacy and fluency over the items two or more reviewers rated."""
    reviewers = sorted({j.reviewer for j in judgements})
    raters: dict[int, set[str]] = {}
    for j in judgements:
        raters.setdefault(j.item_id, set()).add(j.reviewer)
    shared = sorted(i for i, who in raters.items() if len(who) > 1)
    if not shared:
        return Agreement(adequacy=None, fluency=None, shared_items=0, reviewers=len(reviewers),
                         note="no item was rated by two reviewers")  # fmt: skip
    row, col = {r: n for n, r in enumerate(reviewers)}, {i: n for n, i in enumerate(shared)}
    scales = {}
    for scale in ("adequacy", "fluency"):
        matrix = np.full((len(reviewers), len(shared)), np.nan)
        for j in judgements:
            if j.item_id in col:
                matrix[row[j.reviewer], col[j.item_id]] = getattr(j, scale)
        scales[scale] = _alpha(matrix)
    note = None if None not in scales.values() else "alpha undefined where every shared rating is the same"
    return Agreement(**scales, shared_items=len(shared), reviewers=len(reviewers), note=note)
