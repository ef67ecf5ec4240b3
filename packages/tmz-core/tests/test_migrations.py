"""Manifests written by the previous release (schema 1, stored as they were written) still load, typed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tmz.core.errors import ManifestError
from tmz.core.manifest import SCHEMA_VERSION, parse_manifest

STORED = Path(__file__).parent / "data" / "manifests-v1"


def stored(name: str):
    text = (STORED / name).read_bytes()
    assert json.loads(text)["schema_version"] == 1  # the fixture really is of the old schema
    return parse_manifest(text, name)


@pytest.mark.parametrize("name", sorted(p.name for p in STORED.glob("*.json")))
def test_every_stored_manifest_loads_and_round_trips(name: str) -> None:
    m = stored(name)
    assert m.schema_version == SCHEMA_VERSION
    again = parse_manifest(m.model_dump_json(), name)  # what this release writes, it reads back unchanged
    assert again == m


def test_dataset_rows_in_becomes_read() -> None:
    raw = json.loads((STORED / "dataset.json").read_text(encoding="utf-8"))["results"]["rows"]
    m = stored("dataset.json")
    assert m.results.rows.read == raw["in"] == m.results.rows.accepted + m.results.rows.rejected
    assert m.settings.layout == "auto" and m.settings.sources[0].layout == "wide"
    assert not m.settings.memorised


def test_memorised_dataset_gets_counts_from_its_split_sizes() -> None:
    raw = json.loads((STORED / "dataset-memorised.json").read_text(encoding="utf-8"))["results"]["rows"]
    m = stored("dataset-memorised.json")
    assert m.settings.memorised
    assert m.results.examples.by_split == raw and m.results.splits["train"].examples == raw["train"]


def test_model_settings_say_where_the_checkpoint_came_from() -> None:
    merged, tiny, vision = stored("model-merged.json"), stored("model-tiny.json"), stored("model-vision.json")
    assert merged.settings.merged is not None and merged.settings.merged.dtype == "float32"
    assert merged.settings.merged.vocab.vocab_size == tiny.settings.tiny.vocab_size
    assert tiny.settings.merged is None and tiny.settings.tiny.text_config["hidden_size"] > 0
    assert vision.settings.image_normalisation.image_size == [64, 64]


def test_evaluation_scores_keep_their_values() -> None:
    raw = json.loads((STORED / "adapter-eval.json").read_text(encoding="utf-8"))["results"]["eval"]
    ev = stored("adapter-eval.json").results.eval
    assert ev.split == raw["split"]
    assert (ev.overall.rows, ev.overall.chrf, ev.overall.bleu) == (
        raw["overall"]["n"],
        raw["overall"]["chrf++"],
        raw["overall"]["bleu"],
    )
    assert set(ev.by_direction) == set(raw["by_direction"])


def test_export_and_bundles_keep_their_fields() -> None:
    export, vision = stored("export.json"), stored("export-vision.json")
    assert export.settings.components.prefill_decode and export.results.parity.passed
    assert vision.settings.vision and vision.settings.components.vision_encoder
    task, lm = stored("bundle-task.json"), stored("bundle-litertlm.json")
    assert task.settings.sampler is None and lm.settings.sampler.top_k == 1
    assert [e.kind for e in lm.results.lineage][:1] == ["export"]
    assert task.parent.path.startswith("/")  # schema 1 kept absolute paths: still followed by find_parent


def test_a_stored_manifest_with_an_unknown_field_is_refused() -> None:
    raw = json.loads((STORED / "export.json").read_text(encoding="utf-8"))
    raw["settings"]["quantisation"] = "int8"  # a typo a loose dict would have kept
    with pytest.raises(ManifestError, match="quantisation"):
        parse_manifest(json.dumps(raw), "export.json")


def test_a_hand_written_model_manifest_is_described_not_refused() -> None:
    raw = json.loads((STORED / "model-tiny.json").read_text(encoding="utf-8"))
    raw["settings"] = {"dtype": "bfloat16", "parameters": 999_885_952, "seed": 0}  # as a benchmark wrote it
    m = parse_manifest(json.dumps(raw), "bench model")
    assert m.settings.merged is None and m.settings.tiny is None
    assert (
        m.settings.described_by
        == "schema-1 settings not written by tmz-train: ['dtype', 'parameters', 'seed']"
    )
