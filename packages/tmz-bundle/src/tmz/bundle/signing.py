"""Ed25519 keys for signing catalogs (``cryptography``). The private key stays in its own file (mode 0600),
optionally encrypted with the passphrase in ``$TMZ_SIGNING_PASSPHRASE``; it is never written into a
bundle, manifest, catalog or log. Catalogs name the key that signed them by its id (a public-key hash)."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from tmz.bundle.errors import SignatureError, SigningError
from tmz.core.atomic import write_bytes_atomic

PASSPHRASE_ENV = "TMZ_SIGNING_PASSPHRASE"


def _passphrase() -> bytes | None:
    value = os.environ.get(PASSPHRASE_ENV)
    return value.encode() if value else None


def key_id(public_key: Ed25519PublicKey) -> str:
    """The first 16 hex digits of the sha256 of the raw 32-byte public key."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def keygen(prefix: str | os.PathLike[str]) -> tuple[Path, Path]:
    """Write a new key pair as ``<prefix>.key`` (private, PKCS#8 PEM, mode 0600) and ``<prefix>.pub``."""
    private_path, public_path = Path(f"{prefix}.key"), Path(f"{prefix}.pub")
    for p in (private_path, public_path):
        if p.exists():
            raise SigningError(f"{p}: already exists; choose another prefix (keys are never overwritten)")
    key = Ed25519PrivateKey.generate()
    passphrase = _passphrase()
    encryption = (
        serialization.BestAvailableEncryption(passphrase) if passphrase else serialization.NoEncryption()
    )
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    private_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    write_bytes_atomic(public_path, public)
    return private_path, public_path


def load_private_key(path: str | os.PathLike[str]) -> Ed25519PrivateKey:
    """An Ed25519 private key from a PEM file; SigningError naming the file when it is not one, or when users
    other than its owner may read or write it (POSIX)."""
    p = Path(path)
    if not p.is_file():
        raise SigningError(f"{p}: no such private key; make one with `tmz bundle keygen`")
    mode = stat.S_IMODE(p.stat().st_mode)
    if os.name == "posix" and mode & 0o077:
        raise SigningError(
            f"{p}: the private key is open to other users (mode {mode:04o}); run `chmod 600 {p}`, and make a "
            "new key pair if anyone else could have read it"
        )
    try:
        key = serialization.load_pem_private_key(p.read_bytes(), password=_passphrase())
    except (ValueError, TypeError) as e:
        hint = f" (set ${PASSPHRASE_ENV} for an encrypted key)" if "encrypt" in str(e).lower() else ""
        raise SigningError(
            f"{p}: not a readable PEM private key{hint}; pass the .key file from `tmz bundle keygen`"
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningError(
            f"{p}: is a {type(key).__name__}, expected an Ed25519 key from `tmz bundle keygen`"
        )
    return key


def load_public_key(path: str | os.PathLike[str]) -> Ed25519PublicKey:
    """An Ed25519 public key from a PEM file; SigningError naming the file when it is not one."""
    p = Path(path)
    if not p.is_file():
        raise SigningError(f"{p}: no such public key; pass the .pub file from `tmz bundle keygen`")
    try:
        key = serialization.load_pem_public_key(p.read_bytes())
    except ValueError:
        raise SigningError(
            f"{p}: not a PEM public key; pass the .pub file from `tmz bundle keygen`"
        ) from None
    if not isinstance(key, Ed25519PublicKey):
        raise SigningError(f"{p}: is a {type(key).__name__}, expected an Ed25519 public key")
    return key


def verify_signature(public_key: Ed25519PublicKey, signature: bytes, data: bytes, where: str) -> None:
    """SignatureError unless ``signature`` is ``public_key``'s signature of ``data``."""
    try:
        public_key.verify(signature, data)
    except InvalidSignature:
        raise SignatureError(
            f"{where}: the signature does not match (signed by another key, or the file was altered); "
            "do not install from it"
        ) from None
