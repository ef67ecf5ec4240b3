"""The signed catalog an app reads to offer model updates: ``catalog.json`` plus its detached Ed25519
signature ``catalog.json.sig`` (base64 of the signature of the exact bytes of ``catalog.json``)."""

from __future__ import annotations

import base64
import binascii
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tmz.bundle.errors import BundleError, IntegrityError, SignatureError, SigningError
from tmz.bundle.naming import sidecar_name
from tmz.bundle.reader import inspect_bundle
from tmz.bundle.signing import key_id, load_private_key, load_public_key, verify_signature
from tmz.bundle.verify import check_sidecar
from tmz.core.atomic import write_bytes_atomic
from tmz.core.manifest import sha256_file

CATALOG_NAME = "catalog.json"
CATALOG_KIND = "tmz-catalog"
CATALOG_SCHEMA_VERSION = 1
BUNDLE_GLOBS = ("*.task", "*.litertlm")


def signature_path(catalog: Path) -> Path:
    return catalog.with_name(f"{catalog.name}.sig")


def catalog_entry(path: Path, base_url: str | None) -> dict[str, Any]:
    """One bundle as the app sees it: what it translates, how big it is, its sha256 and where to get it."""
    info = inspect_bundle(path)
    m = info.manifest
    if m is None:
        raise BundleError(
            f"{path}: holds no tmz manifest; only bundles made by `tmz bundle make` can be listed"
        )
    sidecar = path.with_name(sidecar_name(path.name))
    digest = check_sidecar(info, sidecar) if sidecar.is_file() else sha256_file(path)
    entry = {
        "name": m.name, "version": m.settings.version, "file": path.name, "format": m.format,
        "backend": m.backend, "modalities": m.settings.modalities, "languages": m.languages,
        "dialects": m.dialects, "scripts": m.scripts, "directions": m.directions, "prompt_format": m.prompt_format,
        "size": info.size, "sha256": digest, "min_runtime_version": m.settings.min_runtime_version,
        "created": m.created.isoformat(),
    }  # fmt: skip
    if base_url:
        entry["url"] = f"{base_url.rstrip('/')}/{path.name}"
    return entry


def build_catalog(
    directory: str | os.PathLike[str],
    key: str | os.PathLike[str],
    *,
    out: str | os.PathLike[str] | None = None,
    base_url: str | None = None,
) -> Path:
    """List every bundle in ``directory`` in a catalog signed with the private ``key``; returns its path.

    Refuses (SigningError) a key that lies inside the published directory, and (BundleError,
    IntegrityError) a bundle without a tmz manifest or whose bytes differ from the manifest beside it.
    """
    root = Path(directory)
    if not root.is_dir():
        raise BundleError(f"{root}: no such directory of bundles")
    key_path = Path(key).resolve()
    if key_path.is_relative_to(root.resolve()):
        raise SigningError(
            f"{key}: the private key lies inside {root}, the folder to publish; move it out first"
        )
    private = load_private_key(key_path)
    bundles = sorted(p for g in BUNDLE_GLOBS for p in root.glob(g))
    if not bundles:
        raise BundleError(f"{root}: holds no .task or .litertlm bundle; run `tmz bundle make` first")
    catalog = {
        "kind": CATALOG_KIND,
        "schema_version": CATALOG_SCHEMA_VERSION,
        "generated": datetime.now(UTC).isoformat(),
        "key_id": key_id(private.public_key()),
        "bundles": [catalog_entry(p, base_url) for p in bundles],
    }
    target = Path(out) if out else root / CATALOG_NAME
    data = (json.dumps(catalog, indent=2, ensure_ascii=False) + "\n").encode()
    write_bytes_atomic(target, data)
    write_bytes_atomic(signature_path(target), base64.b64encode(private.sign(data)) + b"\n")
    return target


def verify_catalog(catalog: str | os.PathLike[str], public_key: str | os.PathLike[str]) -> dict[str, Any]:
    """Check a catalog's signature with ``public_key``, then every listed bundle present beside it.

    Returns the catalog with ``checked`` (bundles whose size and sha256 matched) and ``absent`` (listed,
    not beside it). Raises SignatureError for a missing or wrong signature (a tampered catalog included)
    and IntegrityError for a bundle whose bytes differ from the catalog.
    """
    path = Path(catalog)
    if not path.is_file():
        raise BundleError(f"{path}: no such catalog")
    sig_path = signature_path(path)
    if not sig_path.is_file():
        raise SignatureError(
            f"{path}: no signature ({sig_path.name}) beside it; an unsigned catalog is refused"
        )
    try:
        signature = base64.b64decode(sig_path.read_text().strip(), validate=True)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise SignatureError(f"{sig_path}: not a base64 signature; the file is damaged") from None
    data = path.read_bytes()
    public = load_public_key(public_key)
    verify_signature(public, signature, data, str(path))
    parsed = json.loads(data)
    if parsed.get("kind") != CATALOG_KIND or parsed.get("schema_version") != CATALOG_SCHEMA_VERSION:
        raise BundleError(f"{path}: not a tmz catalog of schema version {CATALOG_SCHEMA_VERSION}")
    if parsed.get("key_id") != key_id(public):
        raise SignatureError(
            f"{path}: names signing key {parsed.get('key_id')!r}, not the given {key_id(public)!r}"
        )
    checked, absent = [], []
    for entry in parsed["bundles"]:
        f = path.parent / entry["file"]
        if not f.is_file():
            absent.append(entry["file"])
            continue
        size = f.stat().st_size
        if size != entry["size"] or sha256_file(f) != entry["sha256"]:
            raise IntegrityError(
                f"{f}: differs from {path.name} (size {size}, listed {entry['size']}, or its sha256); "
                "do not install it, download it again"
            )
        checked.append(entry["file"])
    return {**parsed, "checked": checked, "absent": absent}
