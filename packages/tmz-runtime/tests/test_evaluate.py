"""evaluate() and benchmark() through the tiny bundle itself."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tmz.core.cli import cli
from tmz.core.errors import DataError, ManifestError
from tmz.core.prompt import Side
from tmz.runtime.benchmark import benchmark
from tmz.runtime.evaluate import BundleEvaluation, evaluate
from tmz.train.memorise import write_pairs

pytestmark = pytest.mark.slow  # every test runs the tiny bundles


def write_dataset(out: Path, pairs, wrong: int = 0) -> Path:
    """A dataset directory (tmz.core.dataset) whose splits hold ``pairs``; the first ``wrong`` references are
    altered so that the scores must drop."""
    write_pairs(out, [p._replace(answer=p.answer + " ⵏ") if i < wrong else p for i, p in enumerate(pairs)])
    return out


def tag(side: Side) -> str:
    return f"{side.language}_{side.script}"


def test_evaluate_scores_each_direction(tiny_text_bundles, memorised_text_pairs, tmp_path):
    data = write_dataset(tmp_path / "data", memorised_text_pairs, wrong=1)
    report = evaluate(tiny_text_bundles["litertlm"], data, max_tokens=32)
    assert report.rows == len(memorised_text_pairs) and report.split == "test"
    assert report.scores.overall.rows == len(memorised_text_pairs) and report.scores.overall.exact < 1
    altered = f"{tag(memorised_text_pairs[0].source)}->{tag(memorised_text_pairs[0].target)}"
    assert altered in report.scores.by_direction
    for key, scores in report.scores.by_direction.items():
        if key == altered:  # holds the altered reference
            assert scores.chrf < 100 and scores.exact < 1
        else:
            assert scores.chrf == pytest.approx(100) and scores.exact == 1
        assert scores.cer is None
    assert set(report.scores.by_modality) == {"text"}
    assert {p.prediction for p in report.predictions} == {p.answer for p in memorised_text_pairs}
    assert [p.reference for p in report.predictions][1:] == [p.answer for p in memorised_text_pairs][1:]
    assert BundleEvaluation.model_validate_json(report.model_dump_json()) == report

    limited = evaluate(tiny_text_bundles["litertlm"], data, max_tokens=32, limit=1)  # first row per direction
    assert limited.rows == len(report.scores.by_direction) < report.rows
    assert {k: s.rows for k, s in limited.scores.by_direction.items()} == dict.fromkeys(
        report.scores.by_direction, 1
    )


def test_eval_command_prints_the_table_and_writes_the_report(
    tiny_text_bundles, memorised_text_pairs, tmp_path
):
    data = write_dataset(tmp_path / "data", memorised_text_pairs)
    out = tmp_path / "eval.json"
    result = CliRunner().invoke(cli, ["eval", str(tiny_text_bundles["task"]), str(data), "--max-tokens", "32",
                                      "-o", str(out)], catch_exceptions=False)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "overall" in result.stderr and "direction: en_Latn->zgh_Tfng" in result.stderr
    report = BundleEvaluation.model_validate_json(out.read_text(encoding="utf-8"))
    assert report.scores.overall.exact == 1 and report.max_tokens == 32 and report.sampling.top_k == 1
    raw = json.loads(out.read_text(encoding="utf-8"))
    assert set(raw["predictions"][0]) == {"id", "direction", "modality", "reference", "prediction"}


def test_evaluate_image_rows_get_cer(tiny_vision_bundle, memorised_image_pairs, tmp_path):
    data = write_dataset(tmp_path / "data", memorised_image_pairs)
    report = evaluate(tiny_vision_bundle, data, max_tokens=16)
    [(key, scores)] = report.scores.by_direction.items()
    assert key == f"und_Zyyy->{tag(memorised_image_pairs[0].target)}"  # the dataset's tag, nothing appended
    assert scores.exact == 1
    [(modality, image)] = report.scores.by_modality.items()
    assert modality == "image" and image.cer == 0 and image.exact == 1
    assert {p.modality for p in report.predictions} == {"image"}


def test_evaluate_bad_data(tiny_text_bundles, memorised_text_pairs, tmp_path):
    with pytest.raises(ManifestError):
        evaluate(tiny_text_bundles["litertlm"], tmp_path)
    data = write_dataset(tmp_path / "data", memorised_text_pairs)
    with pytest.raises(DataError, match="no 'dev' split"):
        evaluate(tiny_text_bundles["litertlm"], data, split="dev")


def test_benchmark_reports_each_prompt_length(tiny_text_bundles):
    report = benchmark(
        tiny_text_bundles["litertlm"], prompt_tokens=(1, 80, 100_000), decode_tokens=8, repeats=1
    )
    [run] = report["runs"]
    assert run["requested_tokens"] == 80 and 0 < run["prompt_tokens"] <= 80
    assert run["decoded_tokens"] == 8  # stop tokens suppressed: every run decodes the same length
    assert run["prefill_tokens_per_s"] > 0 and run["decode_tokens_per_s"] > 0 and run["ttft_s"] > 0
    assert run["peak_rss_mib"] > 0
    assert [s["prompt_tokens"] for s in report["skipped"]] == [1, 100_000]
    json.dumps(report)


def test_eval_cli_reports_sacrebleus_bleu_overall_and_by_direction(
    tiny_text_bundles, memorised_text_pairs, tmp_path
):
    """`tmz eval`'s BLEU is sacrebleu's corpus BLEU (effective order) of its own predictions: 100 where every
    answer is the reference, below where one reference was altered, and the table prints the same values."""
    from sacrebleu.metrics import BLEU

    data = write_dataset(tmp_path / "data", memorised_text_pairs, wrong=1)
    out = tmp_path / "eval.json"
    result = CliRunner().invoke(cli, ["eval", str(tiny_text_bundles["litertlm"]), str(data), "--max-tokens", "32",
                                      "-o", str(out)], catch_exceptions=False)  # fmt: skip
    assert result.exit_code == 0, result.output
    report = BundleEvaluation.model_validate_json(out.read_text(encoding="utf-8"))
    altered = f"{tag(memorised_text_pairs[0].source)}->{tag(memorised_text_pairs[0].target)}"

    def bleu(predictions) -> float:
        return BLEU(effective_order=True).corpus_score([p.prediction for p in predictions],
                                                       [[p.reference for p in predictions]]).score  # fmt: skip

    assert (
        report.scores.overall.bleu == pytest.approx(bleu(report.predictions))
        and report.scores.overall.bleu < 100
    )
    for direction, scores in report.scores.by_direction.items():
        rows = [p for p in report.predictions if p.direction == direction]
        assert scores.bleu == pytest.approx(bleu(rows))
        assert (scores.bleu < 100) if direction == altered else (scores.bleu == pytest.approx(100))
    overall = next(line for line in result.stderr.splitlines() if "overall" in line)
    assert f"{report.scores.overall.bleu:.1f}" in overall


def test_evaluate_sends_the_rows_prompt_as_is_without_phrasebook_or_script_conversion(
    tiny_text_bundles, memorised_text_pairs, tmp_path, monkeypatch
):
    """The bundle answers each row's own user turn: a phrasebook entry for the same text is not consulted, and
    a row whose target script is not the script the model writes is scored on the model's text unconverted
    (Translator.translate would look the phrase up, and convert the script)."""
    from tmz.core.plugins import get_registry
    from tmz.runtime import Phrasebook, Translator
    from tmz.runtime.phrasebook import Phrase
    from tmz.train import memorise

    pairs = [p for p in memorised_text_pairs if tag(p.target) == "zgh_Tfng"]
    looked_up, flipped = pairs[0], pairs[1]
    real_row = memorise.pair_row

    # `flipped`'s row says zgh_Latn; its prompt still asks for Tifinagh
    def latin_target(i, pair, image=None):
        row = real_row(i, pair, image)
        if pair is flipped:
            row = {
                **row,
                "target_script": "Latn",
                "direction": row["direction"].replace("zgh_Tfng", "zgh_Latn"),
            }
        return row

    monkeypatch.setattr(memorise, "pair_row", latin_target)
    data = write_dataset(tmp_path / "data", pairs)
    curated = "ⴰⵣⵓⵍ ⴰⵎⵇⵔⴰⵏ"  # not what the model says
    phrase = Phrase("emergency", "p1", "emergency", {(looked_up.source.language, looked_up.source.script):
                    looked_up.input, ("zgh", "Tfng"): curated}, "test.csv", 2)  # fmt: skip
    book = Phrasebook(get_registry(), [phrase])
    with Translator(tiny_text_bundles["litertlm"], phrasebook=book, max_tokens=32) as tr:
        assert tr.translate(looked_up.input, tag(looked_up.source), "zgh_Tfng").text == curated
        report = evaluate(tr, data, max_tokens=32)
    by_reference = {p.reference: p for p in report.predictions}
    assert (
        by_reference[looked_up.answer].prediction == looked_up.answer
    )  # the model's answer, not the phrasebook's
    flipped_row = by_reference[flipped.answer]
    assert (
        flipped_row.direction.endswith("zgh_Latn") and flipped_row.prediction == flipped.answer
    )  # still Tifinagh
    assert report.scores.overall.exact == 1
