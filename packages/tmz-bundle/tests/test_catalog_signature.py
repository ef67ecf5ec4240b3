"""The catalog's signature checked without tmz: `cryptography`'s own Ed25519 verify over the exact bytes of
catalog.json, the key id recomputed from the raw public key, and the private key absent from every line the
CLI prints or logs (tmz-bundle README: "never written into a bundle, manifest, catalog or log")."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import shutil

import pytest
from click.testing import CliRunner
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from tmz.bundle.naming import sidecar_name
from tmz.core.cli import cli

pytestmark = pytest.mark.slow  # the bundles are the converted tiny model's


def run(*args) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["bundle", *map(str, args)])
    return result.exit_code, result.output


def secrets(private_pem: bytes) -> list[bytes]:
    """The private key in every form it could leak: the PEM, its base64 body lines, the raw 32 bytes as bytes,
    hex and base64."""
    key = serialization.load_pem_private_key(private_pem, password=None)
    raw = key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    body = [line for line in private_pem.splitlines() if line and not line.startswith(b"-----")]
    assert len(raw) == 32 and body
    return [private_pem.strip(), *body, raw, raw.hex().encode(), base64.b64encode(raw)]


def test_catalog_signature_verifies_with_cryptography_and_the_key_never_leaks(
    tiny_text_bundles, tmp_path, caplog
):
    dist = tmp_path / "dist"
    dist.mkdir()
    for path in tiny_text_bundles.values():
        for p in (path, path.with_name(sidecar_name(path.name))):
            shutil.copy(p, dist / p.name)
    prefix = tmp_path / "keys" / "tmz"
    outputs = []
    with caplog.at_level(logging.DEBUG):
        for args in (
            ("keygen", prefix),
            ("catalog", dist, "--key", f"{prefix}.key", "--base-url", "https://models.example.org/tmz"),
            ("verify", dist / "catalog.json", "--public-key", f"{prefix}.pub"),
        ):
            code, output = run(*args)
            assert code == 0, (args, output)
            outputs.append(output)

    public = serialization.load_pem_public_key(prefix.with_suffix(".pub").read_bytes())
    assert isinstance(public, Ed25519PublicKey)
    data = (dist / "catalog.json").read_bytes()
    signature = base64.b64decode((dist / "catalog.json.sig").read_bytes().strip(), validate=True)
    assert len(signature) == 64
    public.verify(signature, data)  # raises InvalidSignature when it does not match
    with pytest.raises(InvalidSignature):
        public.verify(signature, data.replace(b'"sequence": 1', b'"sequence": 2'))
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    key_id = hashlib.sha256(raw).hexdigest()[:16]
    assert json.loads(data)["key_id"] == key_id
    assert f"key id {key_id}" in outputs[0] and f"(key {key_id})" in outputs[2]

    said = "\n".join(outputs).encode() + caplog.text.encode()
    published = b"".join(p.read_bytes() for p in sorted(dist.iterdir()))
    for secret in secrets(prefix.with_suffix(".key").read_bytes()):
        assert secret not in said
        assert secret not in published
