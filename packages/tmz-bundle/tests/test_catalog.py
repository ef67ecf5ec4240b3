"""Signed catalogs: keys, signatures, tampering, and bundles that changed after signing."""

import base64
import json
import shutil
import stat

import pytest

from tmz.bundle import (
    IntegrityError,
    SignatureError,
    SigningError,
    build_catalog,
    keygen,
    verify_catalog,
)
from tmz.bundle.catalog import signature_path
from tmz.bundle.naming import sidecar_name

pytestmark = pytest.mark.slow  # every test here uses a converted tiny model


@pytest.fixture
def published(tiny_text_bundles, tmp_path):
    dist = tmp_path / "dist"
    dist.mkdir()
    for path in tiny_text_bundles.values():
        for p in (path, path.with_name(sidecar_name(path.name))):
            shutil.copy(p, dist / p.name)
    private, public = keygen(tmp_path / "keys" / "tmz")
    return dist, private, public


def test_catalog_lists_every_bundle_and_verifies(published):
    dist, private, public = published
    catalog = build_catalog(dist, private, base_url="https://models.example.org/tmz/")
    report = verify_catalog(catalog, public)
    bundles = sorted(p.name for g in ("*.task", "*.litertlm") for p in dist.glob(g))
    assert len(bundles) == 2 and sorted(report["checked"]) == bundles and report["absent"] == []
    entry = report["bundles"][0]
    for key in ("name", "version", "languages", "directions", "size", "sha256", "min_runtime_version", "url"):
        assert entry[key], key
    assert entry["url"] == f"https://models.example.org/tmz/{entry['file']}"
    assert entry["size"] == (dist / entry["file"]).stat().st_size


def test_private_key_stays_private(published):
    dist, private, public = published
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    catalog = build_catalog(dist, private)
    secret = private.read_bytes()
    body = b"".join(secret.splitlines()[1:-1])  # the base64 key material of the PEM
    for f in dist.iterdir():
        assert body not in f.read_bytes(), f
    assert base64.b64decode(body)[-32:] not in catalog.read_bytes()
    with pytest.raises(SigningError, match="already exists"):
        keygen(private.with_suffix(""))
    inside = dist / "tmz.key"
    shutil.copy(private, inside)
    with pytest.raises(SigningError, match="inside .*the folder to publish"):
        build_catalog(dist, inside)


def test_tampered_catalog_is_refused(published):
    dist, private, public = published
    catalog = build_catalog(dist, private)
    data = json.loads(catalog.read_text())
    data["bundles"][0]["sha256"] = "0" * 64
    catalog.write_text(json.dumps(data, indent=2) + "\n")
    with pytest.raises(SignatureError, match="signature does not match"):
        verify_catalog(catalog, public)


def test_wrong_key_and_missing_signature_are_refused(published, tmp_path):
    dist, private, _ = published
    catalog = build_catalog(dist, private)
    _, other_public = keygen(tmp_path / "other")
    with pytest.raises(SignatureError, match="signature does not match"):
        verify_catalog(catalog, other_public)
    with pytest.raises(SigningError, match="not a PEM public key"):
        verify_catalog(catalog, private)
    signature_path(catalog).write_text("not base64!\n")
    with pytest.raises(SignatureError, match="not a base64 signature"):
        verify_catalog(catalog, other_public)
    signature_path(catalog).unlink()
    with pytest.raises(SignatureError, match="unsigned catalog is refused"):
        verify_catalog(catalog, other_public)


def test_bundle_replaced_after_signing_is_refused(published):
    dist, private, public = published
    catalog = build_catalog(dist, private)
    task = next(dist.glob("*.task"))
    with open(task, "ab") as f:
        f.write(b"\0")
    with pytest.raises(IntegrityError, match="differs from catalog.json"):
        verify_catalog(catalog, public)


def test_encrypted_key_needs_its_passphrase(published, tmp_path, monkeypatch):
    dist, _, _ = published
    monkeypatch.setenv("TMZ_SIGNING_PASSPHRASE", "correct horse")
    private, public = keygen(tmp_path / "enc")
    assert b"ENCRYPTED" in private.read_bytes()
    verify_catalog(build_catalog(dist, private), public)
    monkeypatch.delenv("TMZ_SIGNING_PASSPHRASE")
    with pytest.raises(SigningError, match="TMZ_SIGNING_PASSPHRASE"):
        build_catalog(dist, private)
