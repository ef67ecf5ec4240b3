"""The report: per direction, variety and reviewer; Krippendorff's alpha; chrF++ against the reviewed text; a PNG."""

from __future__ import annotations

import json

import pytest

from tmz.review.agreement import agreement
from tmz.review.errors import NoJudgementsError
from tmz.review.judgement import Judgement
from tmz.review.report import build_report, write_report

from .test_export import reviewed_store


def judgement(item_id: int, reviewer: str, adequacy: int, fluency: int) -> Judgement:
    return Judgement(item_id, reviewer, "2025-01-01T00:00:00+00:00", adequacy, fluency, (), None, "ab" * 32,
                     "tmz-v1", "en_Latn->zgh_Tfng")  # fmt: skip


def test_krippendorffs_alpha_on_shared_items():
    same = [judgement(i, r, a, a) for i, a in ((1, 1), (2, 3), (3, 5)) for r in ("Itto", "Yuba")]
    assert agreement(same).adequacy == pytest.approx(1.0) and agreement(same).shared_items == 3
    apart = [judgement(1, "Itto", 1, 5), judgement(1, "Yuba", 5, 1), judgement(2, "Itto", 5, 1),
             judgement(2, "Yuba", 1, 5)]  # fmt: skip
    assert agreement(apart).adequacy < 0
    alone = agreement([judgement(1, "Itto", 3, 3), judgement(2, "Yuba", 4, 4)])
    assert alone.adequacy is None and alone.note == "no item was rated by two reviewers"
    flat = agreement([judgement(1, "Itto", 4, 4), judgement(1, "Yuba", 4, 4)])
    assert flat.fluency is None and "every shared rating is the same" in flat.note


def test_report_groups_scores_and_plot(store, tmp_path):
    reviewed_store(store)
    report = build_report(store)
    assert set(report.by_direction) == {"en_Latn->zgh_Tfng", "fr_Latn->tzm_Latn"}
    assert set(report.by_variety) == {"zgh", "tzm"} and set(report.by_reviewer) == {"Itto", "Yuba"}
    o = report.overall
    assert (o.judgements, o.items, o.corrected, o.approved) == (7, 4, 3, 3)
    assert o.errors["omission"] == 2 and o.errors["mistranslation"] == 1 and o.errors["offensive"] == 0
    assert o.adequacy == pytest.approx((2 + 2 + 5 + 4 + 1 + 5 + 4) / 7)
    assert o.chrf.rows == 6 and 0 < o.chrf.chrf < 100  # 3 corrections and 3 approvals (their own reference)
    assert report.by_reviewer["Itto"].chrf.rows == 3
    assert o.agreement.shared_items == 3 and o.agreement.adequacy is not None
    assert report.by_variety["tzm"].chrf.rows == 0
    json_path, png_path = write_report(store, tmp_path / "report")
    assert json.loads(json_path.read_text(encoding="utf-8"))["overall"]["judgements"] == 7
    assert png_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png_path.stat().st_size > 10_000


def test_no_judgements_no_report(store, tmp_path):
    with pytest.raises(NoJudgementsError, match="no judgements yet"):
        write_report(store, tmp_path / "report")
    assert not (tmp_path / "report").exists()
