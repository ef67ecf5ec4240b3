"""Signed catalogs: keys, signatures, tampering, and bundles that changed after signing."""

import base64
import json
import shutil
import stat
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from tmz.bundle import (
    BundleError,
    IntegrityError,
    RollbackError,
    SignatureError,
    SigningError,
    build_catalog,
    keygen,
    verify_catalog,
)
from tmz.bundle.catalog import signature_path
from tmz.bundle.naming import sidecar_name
from tmz.bundle.signing import load_private_key
from tmz.core.cli import cli

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


# -- rollback, expiry, absent bundles, URLs, key permissions ---------------------------------------------
def resign(catalog, private, mutate):
    """Change the catalog's data with ``mutate`` and sign it again with the publisher's key: what a publisher's
    mistake, or a stolen key, could produce."""
    data = json.loads(catalog.read_text())
    mutate(data)
    raw = (json.dumps(data, indent=2) + "\n").encode()
    catalog.write_bytes(raw)
    signature_path(catalog).write_bytes(base64.b64encode(load_private_key(private).sign(raw)) + b"\n")


def test_sequence_rises_and_old_catalogs_are_refused(published, tmp_path):
    dist, private, public = published
    first = build_catalog(dist, private)
    saved = tmp_path / "saved"
    saved.mkdir()
    for p in (first, signature_path(first)):
        shutil.copy(p, saved / p.name)
    for p in dist.iterdir():  # the bundles, so that the saved catalog's listed files are beside it
        if p.suffix in (".task", ".litertlm"):
            shutil.copy(p, saved / p.name)
    second = build_catalog(dist, private)
    assert json.loads(first.read_text())["sequence"] == 2 and verify_catalog(second, public)["sequence"] == 2
    old = saved / "catalog.json"
    assert verify_catalog(old, public)["sequence"] == 1  # validly signed: only the sequence tells
    with pytest.raises(RollbackError, match="sequence 1 is older than 2"):
        verify_catalog(old, public, min_sequence=2)
    state = tmp_path / "state" / "seen.json"
    verify_catalog(second, public, state=state)
    assert json.loads(state.read_text())["sequences"] == {verify_catalog(second, public)["key_id"]: 2}
    with pytest.raises(RollbackError, match="older than 2, the newest already seen"):
        verify_catalog(old, public, state=state)
    verify_catalog(second, public, state=state)  # the same catalog again is fine
    state.write_text("{not json")
    with pytest.raises(BundleError, match="not a tmz catalog state file"):
        verify_catalog(second, public, state=state)
    with pytest.raises(BundleError, match="sequence 2: the catalog at .* has 2"):
        build_catalog(dist, private, sequence=2)
    assert json.loads(build_catalog(dist, private, sequence=10).read_text())["sequence"] == 10


def test_expired_catalog_is_refused(published):
    dist, private, public = published
    catalog = build_catalog(dist, private, expires_in=timedelta(days=1))
    verify_catalog(catalog, public)
    later = datetime.now(UTC) + timedelta(days=2)
    with pytest.raises(RollbackError, match="expired at"):
        verify_catalog(catalog, public, now=later)
    with pytest.raises(BundleError, match="must expire after"):
        build_catalog(dist, private, expires_in=timedelta(0))


def test_absent_bundles_fail_unless_skipped(published, tmp_path):
    dist, private, public = published
    catalog = build_catalog(dist, private)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for p in (catalog, signature_path(catalog)):
        shutil.copy(p, elsewhere / p.name)
    with pytest.raises(IntegrityError, match="listed in catalog.json but not beside it.*--skip-missing"):
        verify_catalog(elsewhere / "catalog.json", public)
    report = verify_catalog(elsewhere / "catalog.json", public, skip_missing=True)
    assert report["checked"] == [] and len(report["absent"]) == 2
    runner = CliRunner()
    args = ["bundle", "verify", str(elsewhere / "catalog.json"), "--public-key", str(public)]
    assert runner.invoke(cli, args).exit_code == 1
    ok = runner.invoke(cli, [*args, "--skip-missing"])
    assert ok.exit_code == 0 and "0 checked beside it, 2 absent" in ok.output


def test_catalog_urls_and_files_stay_where_they_belong(published):
    dist, private, public = published
    for bad in ("http://models.example.org/tmz", "file:///etc", "https://x.org/tmz?a=1", "https://",
                "https://models.example.org@evil.example.com/tmz"):  # fmt: skip
        with pytest.raises(BundleError, match="expected an https:// URL"):
            build_catalog(dist, private, base_url=bad)
    catalog = build_catalog(dist, private, base_url="https://models.example.org/tmz")
    assert json.loads(catalog.read_text())["base_url"] == "https://models.example.org/tmz"
    resign(catalog, private, lambda d: d["bundles"][0].update(url="https://evil.example.com/x.task"))
    with pytest.raises(BundleError, match="has url 'https://evil.example.com/x.task'"):
        verify_catalog(catalog, public)
    resign(catalog, private, lambda d: d["bundles"][0].update(url=None, file="../../etc/passwd.task"))
    with pytest.raises(BundleError, match=r"(?s)invalid catalog.*bundles\.0\.file"):
        verify_catalog(catalog, public)
    catalog = build_catalog(dist, private, base_url="https://models.example.org/tmz")
    resign(catalog, private, lambda d: d["bundles"].append(dict(d["bundles"][0])))
    with pytest.raises(BundleError, match="lists a bundle file twice"):
        verify_catalog(catalog, public)


def test_open_private_key_is_refused(published):
    dist, private, _ = published
    private.chmod(0o644)
    with pytest.raises(SigningError, match=r"open to other users \(mode 0644\).*chmod 600"):
        build_catalog(dist, private)
    private.chmod(0o666)
    with pytest.raises(SigningError, match="mode 0666"):
        build_catalog(dist, private)


def test_catalog_carries_the_parity_verdict(published):
    dist, private, public = published
    report = verify_catalog(build_catalog(dist, private), public)
    for entry in report["bundles"]:
        assert entry["parity"]["passed"] is True and entry["parity"]["allowed"] is False
        assert entry["parity"]["prompts"] >= 1 and entry["parity"]["tolerance_source"]


def test_old_catalog_schema_is_refused(published):
    dist, private, public = published
    catalog = build_catalog(dist, private)
    resign(catalog, private, lambda d: d.update(schema_version=1))
    with pytest.raises(BundleError, match="schema version 1, this tmz-bundle reads 2"):
        verify_catalog(catalog, public)


def test_cli_expiry_default_is_the_librarys():
    from tmz.bundle import catalog
    from tmz.bundle import cli as bundle_cli

    assert bundle_cli.DEFAULT_EXPIRY_DAYS == catalog.DEFAULT_EXPIRY_DAYS


def test_ambiguous_catalog_json_is_refused(published):
    """Signed, but read differently by different JSON readers, or typed loosely: refused, not guessed."""
    dist, private, public = published
    catalog = build_catalog(dist, private)
    raw = catalog.read_bytes()
    for text, needle in (
        (raw.replace(b'"sequence": 1,', b'"sequence": 1, "sequence": 99,'), "a key appears twice"),
        (raw.replace(b'"sequence": 1,', b'"sequence": "1",'), r"(?s)invalid catalog.*sequence"),
    ):
        catalog.write_bytes(text)
        signature_path(catalog).write_bytes(base64.b64encode(load_private_key(private).sign(text)) + b"\n")
        with pytest.raises(BundleError, match=needle):
            verify_catalog(catalog, public)
