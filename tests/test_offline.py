"""The network guard of the end-to-end tests really blocks, in this process and in the demo's child process."""

import socket
import subprocess
import sys

import pytest
from tmz_offline import NetworkBlocked, offline_env

PROBE = "import socket; socket.create_connection(('127.0.0.1', 9), timeout=1)"


def test_connects_fail_in_process():
    with pytest.raises(NetworkBlocked, match="network blocked"):
        socket.create_connection(("127.0.0.1", 9), timeout=1)
    with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s, pytest.raises(NetworkBlocked):
        s.connect(("::1", 443))


def test_connects_fail_in_a_child_with_the_offline_env():
    child = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=offline_env())
    assert child.returncode != 0 and "network blocked in tmz tests" in child.stderr
    assert offline_env()["HF_HUB_OFFLINE"] == "1"
