"""tmz bundle: build, inspect and verify .task/.litertlm bundles and signed catalogs.

from tmz.bundle import bundle, read_embedded_manifest
manifest = bundle("work/export", fmt="litertlm", out="dist")
read_embedded_manifest("dist/" + manifest.files[0].path).directions

The builders (litert-lm-builder, protobuf) load on first use, so importing the errors or the CLI stays fast.
"""

from tmz.bundle.errors import (
    BundleError,
    CorruptBundleError,
    EngineCheckError,
    IntegrityError,
    RollbackError,
    SignatureError,
    SigningError,
)
from tmz.core.lazy import lazy_attributes

_EXPORTS = {
    "bundle": "tmz.bundle.build",
    "build_catalog": "tmz.bundle.catalog",
    "verify_catalog": "tmz.bundle.catalog",
    "SamplerDefaults": "tmz.bundle.metadata",
    "BundleInfo": "tmz.bundle.reader",
    "inspect_bundle": "tmz.bundle.reader",
    "read_embedded_manifest": "tmz.bundle.reader",
    "check_integrity": "tmz.bundle.integrity",
    "keygen": "tmz.bundle.signing",
    "verify_bundle": "tmz.bundle.verify",
}

__all__ = [
    "BundleError",
    "CorruptBundleError",
    "EngineCheckError",
    "IntegrityError",
    "RollbackError",
    "SignatureError",
    "SigningError",
    *_EXPORTS,
]
__getattr__ = lazy_attributes(__name__, _EXPORTS)
