"""The shared corpus the tests read (``../shared/data`` beside the repository): absent is a failure, not a skip.

Importable from every test (``pythonpath`` in the root pyproject.toml): ``from tmz_shared import shared_data``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

#: Set to 1 to skip, instead of fail, the tests that need the shared data (e.g. a checkout without it).
ENV_ALLOW = "TMZ_ALLOW_NO_SHARED"
SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"


def shared_data(*parts: str) -> Path:
    """``../shared/data/<parts>``; fails the calling test when it is absent, or skips it with ENV_ALLOW=1."""
    path = SHARED_DATA.joinpath(*parts)
    if path.exists():
        return path
    message = (
        f"{path} is absent: the tests look for the shared data in {SHARED_DATA} (../shared/data beside the "
        f"repository); put the shared checkout there, or set {ENV_ALLOW}=1 to skip the tests that need it"
    )
    if os.environ.get(ENV_ALLOW) == "1":
        pytest.skip(message)
    pytest.fail(message, pytrace=False)
