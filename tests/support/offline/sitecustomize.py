"""Loaded first by a test's child process (PYTHONPATH): no IP connect succeeds there (tmz_offline)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tmz_offline import block_network  # noqa: E402

block_network()
