"""Offline checks of a card: it parses as the Hub parses it, and states what the artifact's lineage asks.

``RepoCard.validate()`` posts the card to the Hub; this checks without the network what can be checked here:
the YAML front matter parses into ``ModelCard``/``DatasetCard`` data (``model-index`` through
``model_index_to_eval_results``), the license, languages and pipeline tag have the Hub's form, and every license
term of the lineage (its SPDX id, its attribution) is stated.
"""

from __future__ import annotations

import re
from typing import Literal

from huggingface_hub import DatasetCard, ModelCard
from huggingface_hub.repocard import REGEX_YAML_BLOCK
from huggingface_hub.repocard_data import model_index_to_eval_results

from tmz.core.kinds.license import LicenseTerm
from tmz.publish.card import UNKNOWN_LICENSE, license_fields
from tmz.publish.errors import PublishError

#: The pipeline tags tmz's models take.
PIPELINE_TAGS = frozenset({"text-generation", "image-text-to-text", "translation"})
_ISO639 = re.compile(r"[a-z]{2,3}")


def card_problems(text: str, repo_type: Literal["model", "dataset"], terms: list[LicenseTerm]) -> list[str]:
    """What is wrong with a card (empty: nothing): each problem names the field and what to do."""
    if not REGEX_YAML_BLOCK.search(text):
        return ["no YAML front matter (a --- block at the top): regenerate the card with tmz card"]
    try:
        card = (ModelCard if repo_type == "model" else DatasetCard)(text, ignore_metadata_errors=False)
    except Exception as e:  # the Hub's own parser: a malformed model-index or front matter
        return [f"front matter does not parse as a {repo_type} card: {e}"]
    data = card.data.to_dict()
    problems = []
    want = license_fields(terms)
    if data.get("license") != want["license"]:
        problems.append(
            f"license: the card says {data.get('license')!r}, the lineage's sources need {want['license']!r}"
        )
    if want["license"] == "other" and data.get("license_name") != want.get("license_name"):
        problems.append(f"license_name: should be {want.get('license_name')!r} (license: other)")
    languages = data.get("language") or []
    for code in [languages] if isinstance(languages, str) else languages:
        if not _ISO639.fullmatch(str(code)):
            problems.append(f"language: {code!r} is not an ISO 639 code (e.g. zgh, eng)")
    if repo_type == "model":
        tag = data.get("pipeline_tag")
        if tag not in PIPELINE_TAGS:
            problems.append(f"pipeline_tag: {tag!r}, expected one of {sorted(PIPELINE_TAGS)}")
        if "model-index" in data:
            _, results = model_index_to_eval_results(data["model-index"])
            problems += [f"model-index: {r.dataset_config} {r.metric_type} has no numeric value"
                         for r in results if not isinstance(r.metric_value, int | float)]  # fmt: skip
    body = card.text
    for t in terms:
        if t.spdx not in body:
            problems.append(f"the card does not state {t.spdx}, the license of source {t.source}")
        if t.attribution and t.attribution not in body:
            problems.append(
                f"the card does not give the attribution {t.attribution!r} that {t.spdx} asks for"
            )
    if not terms and data.get("license") != UNKNOWN_LICENSE:
        problems.append(f"license: the lineage records no license, the card says {data.get('license')!r}")
    return problems


def check_card(
    text: str, repo_type: Literal["model", "dataset"], terms: list[LicenseTerm], where: str
) -> None:
    """Raise PublishError listing the card's problems (``where`` names it)."""
    problems = card_problems(text, repo_type, terms)
    if problems:
        raise PublishError(f"{where}: the card is not fit to publish:\n  " + "\n  ".join(problems)
                           + "\nregenerate it (tmz card ARTIFACT --out FILE) or fix it by hand")  # fmt: skip
