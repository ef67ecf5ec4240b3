"""The errors every tmz package raises at users: each names the file, row or field and what to do."""


class TmzError(Exception):
    """Base of every user-facing tmz failure; the CLI prints its message and exits non-zero."""


class ManifestError(TmzError):
    """An artifact's manifest is missing, malformed, of the wrong kind, or its files do not match it."""


class PluginError(TmzError):
    """A plugin registered something inconsistent (duplicate name, bad object)."""


class RegistryError(TmzError):
    """A language, script, dialect, pair or backend is not registered."""


class ConfigError(TmzError):
    """A configuration file or option is invalid."""


class OutputError(TmzError):
    """An output path is refused: it holds something tmz did not write, or it is (or overlaps) an input."""


class DataError(TmzError):
    """Input data cannot be read at all (as opposed to single bad rows, which are rejected)."""


class UnsupportedModelError(TmzError):
    """A model of a registered family that the converter or the device runtime cannot handle correctly: tmz
    refuses it rather than writing a broken artifact."""
