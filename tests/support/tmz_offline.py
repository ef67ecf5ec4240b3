"""No network in the end-to-end tests: every IP connect fails, and Hugging Face libraries run offline.

``block_network()`` patches this process's sockets; ``offline_env()`` is the environment for a child process,
whose ``sitecustomize`` (tests/support/offline/) blocks its sockets the same way before anything else runs.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

OFFLINE_SITE = Path(__file__).resolve().parent / "offline"
OFFLINE_VARS = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


class NetworkBlocked(OSError):
    """Raised by any IP connect while the network is blocked."""


def _guard(real):
    def connect(self: socket.socket, address, *args):
        if self.family in (socket.AF_INET, socket.AF_INET6):
            raise NetworkBlocked(f"network blocked in tmz tests: connect to {address!r}")
        return real(self, address, *args)

    return connect


def block_network() -> None:
    """Make every IPv4/IPv6 connect of this process raise NetworkBlocked (Unix sockets still work)."""
    socket.socket.connect = _guard(_real_connect)  # type: ignore[method-assign]
    socket.socket.connect_ex = _guard(_real_connect_ex)  # type: ignore[method-assign]


def unblock_network() -> None:
    socket.socket.connect = _real_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _real_connect_ex  # type: ignore[method-assign]


def offline_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """``env`` (default: this process's) for a child that runs with its network blocked and hubs offline."""
    env = dict(os.environ if env is None else env)
    path = env.get("PYTHONPATH")
    env["PYTHONPATH"] = str(OFFLINE_SITE) + (os.pathsep + path if path else "")
    return env | OFFLINE_VARS
