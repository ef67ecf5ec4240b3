"""evaluate() and benchmark() through the tiny bundle itself."""

import json
from pathlib import Path

import pytest

from tmz.core.errors import DataError, ManifestError
from tmz.core.manifest import DatasetManifest, Producer, list_files, write_manifest
from tmz.core.plugins import get_registry
from tmz.core.prompt import PROMPT_FORMAT_ID, messages
from tmz.runtime.benchmark import benchmark
from tmz.runtime.evaluate import evaluate

pytestmark = pytest.mark.slow  # every test runs the tiny bundles


def write_dataset(out: Path, pairs, wrong: int = 0) -> Path:
    """A dataset directory (docs/contracts.md) whose test split holds ``pairs``; the first ``wrong`` references
    are altered so that the scores must drop."""
    reg = get_registry()
    rows = []
    for i, p in enumerate(pairs):
        image = None
        if isinstance(p.input, Path):
            image = f"images/{p.input.name}"
            (out / "images").mkdir(parents=True, exist_ok=True)
            (out / image).write_bytes(p.input.read_bytes())
        text = None if image else p.input
        src = p.source
        direction = f"{src.language}_{src.script}->" if src else "und_Zyyy->"
        rows.append({
            "id": f"r{i}", "group": f"g{i}", "direction": direction + f"{p.target.language}_{p.target.script}",
            "source_language": src.language if src else "und", "source_script": src.script if src else "Zyyy",
            "target_language": p.target.language, "target_script": p.target.script, "dialect": None, "domain": None,
            "source_text": text, "target_text": p.answer + (" ⵏ" if i < wrong else ""), "image": image,
            "derived": False, "messages": messages(reg, src, p.target, text, p.answer),
        })  # fmt: skip
    (out / "jsonl").mkdir(parents=True, exist_ok=True)
    (out / "jsonl" / "test.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    write_manifest(DatasetManifest(name=out.name, producer=Producer.of("tmz-runtime"), files=list_files(out),
                                   prompt_format=PROMPT_FORMAT_ID), out)  # fmt: skip
    return out


def test_evaluate_scores_each_direction(tiny_text_bundles, memorised_text_pairs, tmp_path):
    data = write_dataset(tmp_path / "data", memorised_text_pairs, wrong=1)
    report = evaluate(tiny_text_bundles["litertlm"], data, max_tokens=32)
    assert report["rows"] == len(memorised_text_pairs) and report["split"] == "test"
    first = f"{memorised_text_pairs[0].source.language}_{memorised_text_pairs[0].source.script}->"
    for key, scores in report["directions"].items():
        if key.startswith(first):  # holds the altered reference
            assert scores["chrf++"] < 100 and scores["exact"] < 1
        else:
            assert scores["chrf++"] == pytest.approx(100) and scores["exact"] == 1
        assert "cer" not in scores
    assert {p["prediction"] for p in report["predictions"]} == {p.answer for p in memorised_text_pairs}


def test_evaluate_image_rows_get_cer(tiny_vision_bundle, memorised_image_pairs, tmp_path):
    data = write_dataset(tmp_path / "data", memorised_image_pairs)
    report = evaluate(tiny_vision_bundle, data, max_tokens=16)
    [(key, scores)] = report["directions"].items()
    assert key.endswith("(image)") and scores["cer"] == 0 and scores["exact"] == 1


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
