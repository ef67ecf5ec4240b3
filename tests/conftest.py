"""A check over the whole collection: which tests request a session fixture that trains, exports or bundles models
(those must carry the ``slow`` marker, so that ``pytest -m "not slow"`` skips them; tests/test_markers.py)."""

from __future__ import annotations

import json
import os
from typing import NamedTuple

import pytest
from tmz_offline import OFFLINE_VARS, block_network, unblock_network

#: Fixtures of the repository-root conftest.py that convert models (memorise, export, bundle), besides the
#: ``memorised_*`` ones.
CONVERTING = frozenset({
    "_tiny_text_memorised", "_tiny_vision_memorised", "tiny_text_model", "tiny_vision_model",
    "tiny_text_export", "tiny_text_export_fp32", "tiny_vision_export", "tiny_text_bundles", "tiny_vision_bundle",
})  # fmt: skip
#: A file to write the collected tests into (JSON), for a pytest run in a subprocess.
REPORT_ENV = "TMZ_COLLECTED_REPORT"


class Collected(NamedTuple):
    slow: bool
    converting: list[str]


COLLECTED = pytest.StashKey[dict[str, Collected]]()


def converting_fixtures(item: pytest.Item) -> list[str]:
    """The converting fixtures a test requests, directly or through other fixtures, or by name in a parameter
    (a test that calls ``request.getfixturevalue(param)``)."""
    names = set(getattr(item, "fixturenames", ()))
    callspec = getattr(item, "callspec", None)
    if callspec is not None:
        names |= {v for v in callspec.params.values() if isinstance(v, str)}
    return sorted(n for n in names if n in CONVERTING or n.startswith("memorised_"))


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Record every collected test (before ``-m`` deselects any) with its marker and converting fixtures."""
    collected = {
        i.nodeid: Collected(i.get_closest_marker("slow") is not None, converting_fixtures(i)) for i in items
    }
    config.stash[COLLECTED] = collected
    if path := os.environ.get(REPORT_ENV):
        with open(path, "w", encoding="utf-8") as f:
            json.dump({k: v._asdict() for k, v in collected.items()}, f)


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch):
    """Every cross-package and end-to-end test runs with IP connects failing and Hugging Face offline."""
    for name, value in OFFLINE_VARS.items():
        monkeypatch.setenv(name, value)
    block_network()
    yield
    unblock_network()
