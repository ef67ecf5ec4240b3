"""The errors tmz-bundle raises; each names the file or entry, what was expected and what to do."""

from tmz.core.errors import TmzError


class BundleError(TmzError):
    """A bundle cannot be built from this export, or a file is not a tmz bundle."""


class CorruptBundleError(BundleError):
    """A bundle file is truncated, damaged or not in the format its name says."""


class IntegrityError(BundleError):
    """A bundle's bytes do not match the sha256 or size its manifest or catalog records."""


class EngineCheckError(BundleError):
    """LiteRT-LM cannot load a bundle, or its smoke translation failed."""


class SigningError(TmzError):
    """A signing key is missing, unreadable or of the wrong kind, or would leak into a published file."""


class SignatureError(SigningError):
    """A catalog's signature is missing or does not verify with the given public key."""


class RollbackError(SignatureError):
    """A validly signed catalog that must not be used: expired, or older than one already seen."""
