"""Cards made from the manifests, in the Hub's format, checked offline; the slow ones use the converting fixtures."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from huggingface_hub import DatasetCard, ModelCard
from huggingface_hub.repocard_data import model_index_to_eval_results

from tmz.core.scoring import Evaluation, Scores
from tmz.publish import open_artifact, write_card
from tmz.publish.card import license_fields, make_card
from tmz.publish.errors import PublishError
from tmz.publish.validate import card_problems

ATTRIBUTION = "Phrases written for the tmz tests"  # the sa_dataset fixture's (conftest.py)


def scores(chrf: float) -> Scores:
    return Scores(rows=4, chrf=chrf, bleu=chrf / 2, exact=0.5)


EVAL = Evaluation(split="test", overall=scores(60.0), by_direction={"en_Latn->zgh_Tfng": scores(61.5)},
                  by_script={"Tfng": scores(61.5)}, by_dialect={"zgh": scores(61.5)}, by_modality={"text": scores(61.5)})  # fmt: skip


def test_dataset_card_states_license_languages_and_counts(sa_dataset) -> None:
    card = make_card(open_artifact(sa_dataset), links={"dataset": "org/zgh-phrases"})
    assert card.repo_type == "dataset" and card.license == "cc-by-sa-4.0"
    parsed = DatasetCard(card.text, ignore_metadata_errors=False)
    data = parsed.data.to_dict()
    assert data["license"] == "cc-by-sa-4.0" and data["language"] == ["eng", "zgh"]
    assert data["language_details"] == "eng_Latn, zgh_Tfng" and data["task_categories"] == ["translation"]
    assert data["configs"][0]["data_files"] == [{"split": "train", "path": "jsonl/train.jsonl"}]
    assert "license-sharealike" in data["tags"] and "tifinagh" in data["tags"]
    body = parsed.text
    assert "| `en_Latn->zgh_Tfng` | 4 |" in body and ATTRIBUTION in body and "ShareAlike" in body
    assert (
        "Not validated by native speakers" in body and str(sa_dataset.parent) not in card.text
    )  # no local paths
    assert card_problems(card.text, "dataset", card.terms) == []


def test_example_dataset_card_names_the_source_without_a_license(example_dataset) -> None:
    card = make_card(open_artifact(example_dataset))
    assert card.license == "apache-2.0"  # examples/corpus/README.md says so
    assert "image-to-text" in DatasetCard(card.text).data.task_categories
    assert "No license is recorded for: `signs.jsonl`" in card.text


def test_offline_validation_finds_what_is_wrong(sa_dataset) -> None:
    card = make_card(open_artifact(sa_dataset))
    assert card_problems(
        card.text.replace("license: cc-by-sa-4.0", "license: mit"), "dataset", card.terms
    ) == ["license: the card says 'mit', the lineage's sources need 'cc-by-sa-4.0'"]
    unstated = card.text.replace("CC-BY-SA-4.0", "a license").replace(ATTRIBUTION, "someone")
    problems = card_problems(unstated, "dataset", card.terms)
    assert any("does not state CC-BY-SA-4.0" in p for p in problems) and any(
        "attribution" in p for p in problems
    )
    assert card_problems("# no front matter\n", "dataset", card.terms)[0].startswith("no YAML front matter")
    bad_index = "---\nlicense: unknown\npipeline_tag: text-generation\nmodel-index:\n- results: [1]\n---\n"
    assert "does not parse" in card_problems(bad_index, "model", [])[0]
    assert "language: 'zgh_Tfng' is not an ISO 639 code (e.g. zgh, eng)" in card_problems(
        card.text.replace("- zgh\n", "- zgh_Tfng\n"), "dataset", card.terms
    )


def test_license_fields_for_several_and_for_none() -> None:
    from tmz.core.kinds.license import LicenseTerm

    terms = [LicenseTerm.of("CC-BY-SA-4.0", "a", "x"), LicenseTerm.of("ODbL-1.0", "b", "y")]
    assert license_fields(terms) == {"license": "other", "license_name": "CC-BY-SA-4.0 AND ODbL-1.0"}
    assert license_fields([]) == {"license": "unknown"}


def test_write_card_puts_readme_beside_and_open_artifact_refuses_a_non_artifact(sa_dataset, tmp_path) -> None:
    copy = tmp_path / "data"
    shutil.copytree(sa_dataset, copy)
    path = write_card(copy)
    assert path == copy / "README.md" and path.read_text(encoding="utf-8").startswith("---\nlanguage:")
    open_artifact(copy)  # an extra README.md does not disturb the manifest
    with pytest.raises(PublishError, match="no tmz artifact here"):
        open_artifact(tmp_path)


def memorised(model: Path, name: str) -> Path:
    return model.with_name(model.name + ".memorise") / name


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["adapter", "model", "export", "task", "litertlm"])
def test_model_cards_of_every_kind(kind, tiny_text_model, tiny_text_export, tiny_text_bundles) -> None:
    path = {"adapter": memorised(tiny_text_model, "adapter"), "model": tiny_text_model,
            "export": tiny_text_export, **tiny_text_bundles}[kind]  # fmt: skip
    artifact = open_artifact(path)
    card = make_card(artifact, evaluation=EVAL, links={"dataset": "org/zgh-phrases"})
    assert card.repo_type == "model" and card.license == "unknown"  # the memorised chain records no license
    parsed = ModelCard(card.text, ignore_metadata_errors=False)
    data = parsed.data.to_dict()
    assert data["pipeline_tag"] == "text-generation" and data["datasets"] == ["org/zgh-phrases"]
    assert {"eng", "zgh"} <= set(data["language"]) and "zgh_Tfng" in data["language_details"]
    name, results = model_index_to_eval_results(data["model-index"])
    assert {(r.dataset_config, r.metric_type, r.metric_value) for r in results} >= {
        ("en_Latn->zgh_Tfng", "chrf", 61.5), ("en_Latn->zgh_Tfng", "bleu", 30.75)}  # fmt: skip
    body = parsed.text
    for section in ("## Evaluation", "## Training", "## Training data", "## Intended use", "## Limitations",
                    "## How to use", "## Lineage"):  # fmt: skip
        assert section in body, section
    assert "| direction: en_Latn->zgh_Tfng | 4 | 61.5 |" in body
    if kind in ("export", "task", "litertlm"):
        assert "## Parity (on-device vs PyTorch)" in body and "| verdict | passed |" in body
    if kind in ("task", "litertlm"):
        assert "## Bundle" in body and "### Sections and sizes" in body
        assert ("LlmInference" if kind == "task" else "LiteRT-LM (`com.google.ai.edge.litertlm`)") in body
        assert artifact.card_path().name == f"{path.name}.README.md"
    if kind == "model":
        assert "## Merge" in body
    assert card_problems(card.text, "model", card.terms) == []
