"""tmz bundle: build, inspect and verify .task/.litertlm bundles and signed catalogs.

from tmz.bundle import bundle, read_embedded_manifest
manifest = bundle("work/export", fmt="litertlm", out="dist")
read_embedded_manifest("dist/" + manifest.files[0].path).directions
"""

from tmz.bundle.build import bundle
from tmz.bundle.catalog import build_catalog, verify_catalog
from tmz.bundle.errors import (
    BundleError,
    CorruptBundleError,
    EngineCheckError,
    IntegrityError,
    SignatureError,
    SigningError,
)
from tmz.bundle.metadata import SamplerDefaults
from tmz.bundle.reader import BundleInfo, inspect_bundle, read_embedded_manifest
from tmz.bundle.signing import keygen
from tmz.bundle.verify import verify_bundle

__all__ = [
    "BundleError",
    "BundleInfo",
    "CorruptBundleError",
    "EngineCheckError",
    "IntegrityError",
    "SamplerDefaults",
    "SignatureError",
    "SigningError",
    "build_catalog",
    "bundle",
    "inspect_bundle",
    "keygen",
    "read_embedded_manifest",
    "verify_bundle",
    "verify_catalog",
]
