"""The signed catalog an app reads to offer model updates: ``catalog.json`` plus its detached Ed25519
signature ``catalog.json.sig`` (base64 of the signature of the exact bytes of ``catalog.json``).

Each catalog has a ``sequence`` one above the catalog it replaces and an ``expires`` time, so that a saved older
catalog, validly signed, can be refused: verify refuses an expired catalog and one older than the newest seen
(``min_sequence``, or a state file that remembers it).
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import AwareDatetime, Field, ValidationError

from tmz.bundle.errors import BundleError, IntegrityError, RollbackError, SignatureError, SigningError
from tmz.bundle.integrity import check_integrity
from tmz.bundle.naming import sidecar_name
from tmz.bundle.reader import inspect_bundle
from tmz.bundle.signing import key_id, load_private_key, load_public_key, verify_signature
from tmz.bundle.verify import check_sidecar
from tmz.core.atomic import write_bytes_atomic
from tmz.core.kinds.base import Record
from tmz.core.kinds.bundle import ParityVerdict
from tmz.core.manifest import sha256_file

CATALOG_NAME = "catalog.json"
CATALOG_KIND = "tmz-catalog"
CATALOG_SCHEMA_VERSION = 2
BUNDLE_GLOBS = ("*.task", "*.litertlm")
#: How long a catalog is valid unless told otherwise: publish a new one before then.
DEFAULT_EXPIRY_DAYS = 30
_BUNDLE_FILE = r"^[A-Za-z0-9][A-Za-z0-9._-]*\.(task|litertlm)$"


class CatalogEntry(Record):
    """One bundle as the app sees it: what it translates, how big it is, its sha256 and where to get it."""

    name: str
    version: str
    file: str = Field(pattern=_BUNDLE_FILE, description="a bare file name, beside the catalog")
    format: Literal["task", "litertlm"]
    backend: str
    modalities: list[str]
    languages: list[str]
    dialects: list[str]
    scripts: list[str]
    directions: list[str]
    prompt_format: str | None
    size: int = Field(ge=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    min_runtime_version: str
    created: str
    parity: ParityVerdict | None = Field(description="the export's parity check; None: not recorded")
    url: str | None = Field(default=None, description="base_url/file")


class Catalog(Record):
    """``catalog.json``."""

    kind: Literal["tmz-catalog"]
    schema_version: Literal[2]
    generated: AwareDatetime
    sequence: int = Field(ge=1, description="one above the catalog this one replaces")
    expires: AwareDatetime = Field(description="verify refuses the catalog from then on")
    key_id: str
    base_url: str | None
    bundles: list[CatalogEntry]


def signature_path(catalog: Path) -> Path:
    return catalog.with_name(f"{catalog.name}.sig")


def catalog_entry(path: Path, base_url: str | None) -> CatalogEntry:
    """One bundle, checked against its embedded manifest (and the manifest beside it, when there) first."""
    info = inspect_bundle(path)
    check_integrity(
        info
    )  # BundleError for a bundle without a tmz manifest, IntegrityError for an altered one
    m = info.manifest
    assert m is not None
    sidecar = path.with_name(sidecar_name(path.name))
    digest = check_sidecar(info, sidecar) if sidecar.is_file() else sha256_file(path)
    return CatalogEntry(
        name=m.name, version=m.settings.version, file=path.name, format=m.format, backend=m.backend,
        modalities=m.settings.modalities, languages=m.languages, dialects=m.dialects, scripts=m.scripts,
        directions=m.directions, prompt_format=m.prompt_format, size=info.size, sha256=digest,
        min_runtime_version=m.settings.min_runtime_version, created=m.created.isoformat(), parity=m.results.parity,
        url=f"{base_url}/{path.name}" if base_url else None,
    )  # fmt: skip


def _base_url(base_url: str | None) -> str | None:
    if base_url is None:
        return None
    parts = urlsplit(base_url)
    plain = not (parts.query or parts.fragment or parts.username or parts.password) and not any(
        c in base_url for c in "?#@\\ "
    )
    if parts.scheme != "https" or not parts.hostname or not plain:
        raise BundleError(
            f"base URL {base_url!r}: expected an https:// URL with a host and no user, query or fragment, e.g. "
            "https://models.example.org/tmz"
        )
    return base_url.rstrip("/")


def previous_sequence(target: Path) -> int:
    """The sequence of the catalog at ``target`` (0 when there is none, or one from before sequences)."""
    if not target.is_file():
        return 0
    try:
        value = json.loads(target.read_bytes()).get("sequence", 0)
    except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
        value = None
    if not isinstance(value, int) or isinstance(value, bool):
        raise BundleError(
            f"{target}: the catalog there is not readable, so the next sequence is unknown; pass --sequence "
            "(above the last one published)"
        )
    return value


def build_catalog(
    directory: str | os.PathLike[str],
    key: str | os.PathLike[str],
    *,
    out: str | os.PathLike[str] | None = None,
    base_url: str | None = None,
    sequence: int | None = None,
    expires_in: timedelta = timedelta(days=DEFAULT_EXPIRY_DAYS),
) -> Path:
    """List every bundle in ``directory`` in a catalog signed with the private ``key``; returns its path.

    ``sequence`` defaults to one above that of the catalog already at the target path (1 when none); a given one
    must be above it too. The catalog expires ``expires_in`` from now.

    Refuses (SigningError) a key that lies inside the published directory or that others can read, and
    (BundleError, IntegrityError) a bundle without a tmz manifest, one whose sections or layout differ from its
    embedded manifest, or whose bytes differ from the manifest beside it.
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
    base = _base_url(base_url)
    if expires_in <= timedelta(0):
        raise BundleError(f"expiry {expires_in}: a catalog must expire after it is made")
    target = Path(out) if out else root / CATALOG_NAME
    previous = previous_sequence(target)
    if sequence is None:
        sequence = previous + 1
    elif sequence <= previous:
        raise BundleError(
            f"sequence {sequence}: the catalog at {target} has {previous}; a new catalog needs a higher one, or "
            "apps that saw the old one refuse it"
        )
    bundles = sorted(p for g in BUNDLE_GLOBS for p in root.glob(g))
    if not bundles:
        raise BundleError(f"{root}: holds no .task or .litertlm bundle; run `tmz bundle make` first")
    now = datetime.now(UTC)
    catalog = Catalog(
        kind=CATALOG_KIND, schema_version=CATALOG_SCHEMA_VERSION, generated=now, sequence=sequence,
        expires=now + expires_in, key_id=key_id(private.public_key()), base_url=base,
        bundles=[catalog_entry(p, base) for p in bundles],
    )  # fmt: skip
    data = (json.dumps(catalog.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n").encode()
    write_bytes_atomic(target, data)
    write_bytes_atomic(signature_path(target), base64.b64encode(private.sign(data)) + b"\n")
    return target


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(
        keys
    ):  # JSON readers differ on which one wins: the app and verify could disagree
        raise ValueError(
            f"a key appears twice in one object: {sorted({k for k in keys if keys.count(k) > 1})}"
        )
    return dict(pairs)


def _parse(path: Path, data: bytes) -> Catalog:
    try:
        raw = json.loads(data, object_pairs_hook=_unique_keys)
    except (ValueError, UnicodeDecodeError) as e:
        raise BundleError(
            f"{path}: not plain JSON ({e}), though its signature matches; publish it again"
        ) from None
    if not isinstance(raw, dict) or raw.get("kind") != CATALOG_KIND:
        raise BundleError(f"{path}: not a tmz catalog (kind {CATALOG_KIND!r})")
    if raw.get("schema_version") != CATALOG_SCHEMA_VERSION:
        raise BundleError(
            f"{path}: catalog schema version {raw.get('schema_version')!r}, this tmz-bundle reads "
            f"{CATALOG_SCHEMA_VERSION} (with sequence and expiry); make it again with `tmz bundle catalog`"
        )
    try:
        return Catalog.model_validate_json(data, strict=True)  # strict: no "2" for 2, no 2.0 for a size
    except ValidationError as e:
        raise BundleError(f"{path}: invalid catalog: {e}") from None


def _check_entries(path: Path, catalog: Catalog) -> None:
    files = [e.file for e in catalog.bundles]
    if len(set(files)) != len(files):
        raise BundleError(f"{path}: lists a bundle file twice")
    if catalog.base_url is not None:
        _base_url(catalog.base_url)
    for e in catalog.bundles:
        if e.url is not None and (catalog.base_url is None or e.url != f"{catalog.base_url}/{e.file}"):
            raise BundleError(
                f"{path}: bundle {e.file!r} has url {e.url!r}, not {catalog.base_url}/{e.file}; do not download it"
            )


def read_state(state: Path) -> dict[str, int]:
    """The newest catalog sequence seen per signing key id, as a state file remembers it."""
    if not state.is_file():
        return {}
    try:
        raw = json.loads(state.read_bytes())
        seen = raw["sequences"]
        if not all(isinstance(k, str) and type(v) is int for k, v in seen.items()):
            raise TypeError
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, AttributeError):
        raise BundleError(
            f"{state}: not a tmz catalog state file; restore it from a backup, or pass --min-sequence with the "
            "newest sequence you installed from (removing it turns off the rollback check)"
        ) from None
    return seen


def verify_catalog(
    catalog: str | os.PathLike[str],
    public_key: str | os.PathLike[str],
    *,
    min_sequence: int | None = None,
    state: str | os.PathLike[str] | None = None,
    skip_missing: bool = False,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Check a catalog's signature with ``public_key``, its expiry and sequence, then every listed bundle.

    The sequence must be at least ``min_sequence`` and the one the ``state`` file remembers for this key (it is
    updated when the catalog passes). Every listed bundle must be beside the catalog with its size and sha256,
    unless ``skip_missing`` (then the absent ones are reported, not refused).

    Returns the catalog (as JSON data) with ``checked`` (bundles whose size and sha256 matched) and ``absent``.
    Raises SignatureError for a missing or wrong signature (a tampered catalog included), RollbackError for an
    expired catalog or one older than the newest seen, IntegrityError for a bundle that is absent or whose bytes
    differ from the catalog, BundleError for a catalog that is not one.
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
    parsed = _parse(path, data)
    if parsed.key_id != key_id(public):
        raise SignatureError(f"{path}: names signing key {parsed.key_id!r}, not the given {key_id(public)!r}")
    _check_entries(path, parsed)
    now = now or datetime.now(UTC)
    if now >= parsed.expires:
        raise RollbackError(
            f"{path}: expired at {parsed.expires.isoformat()} (sequence {parsed.sequence}); an old catalog may be "
            "replayed to hold back updates: fetch the current one, or ask the publisher to sign a new one"
        )
    state_path = Path(state) if state is not None else None
    seen = read_state(state_path) if state_path is not None else {}
    floor = max(min_sequence or 0, seen.get(parsed.key_id, 0))
    if parsed.sequence < floor:
        raise RollbackError(
            f"{path}: sequence {parsed.sequence} is older than {floor}, the newest already seen; it is an old "
            "catalog replayed (or restored): fetch the current one"
        )
    checked, absent = [], []
    for entry in parsed.bundles:
        f = path.parent / entry.file
        if not f.is_file():
            if not skip_missing:
                raise IntegrityError(
                    f"{f}: listed in {path.name} but not beside it; download it, or pass --skip-missing to "
                    "check only the bundles present"
                )
            absent.append(entry.file)
            continue
        size = f.stat().st_size
        if size != entry.size or sha256_file(f) != entry.sha256:
            raise IntegrityError(
                f"{f}: differs from {path.name} (size {size}, listed {entry.size}, or its sha256); "
                "do not install it, download it again"
            )
        checked.append(entry.file)
    if state_path is not None and parsed.sequence > seen.get(parsed.key_id, 0):
        record = {"sequences": {**seen, parsed.key_id: parsed.sequence}}
        write_bytes_atomic(state_path, (json.dumps(record, indent=2) + "\n").encode())
    return {**parsed.model_dump(mode="json"), "checked": checked, "absent": absent}
