"""Named errors of tmz-runtime: each says which bundle, language, image or file is wrong and what to do."""

from tmz.core.errors import DataError, RegistryError, TmzError


class BundleLoadError(TmzError):
    """A bundle path is missing or not a .task/.litertlm file, or the bundle's backend is not registered."""


class UnknownLanguageError(RegistryError):
    """A language, script or dialect is not registered, or not one the bundle translates."""


class ModalityError(TmzError):
    """An input the bundle cannot take, such as an image sent to a text-only bundle."""


class ImageError(DataError):
    """An image cannot be read or decoded."""


class EngineError(TmzError):
    """LiteRT-LM failed to load the bundle or to generate."""


class PhrasebookError(DataError):
    """A phrase set cannot be read: missing file, unknown column, duplicate or ambiguous phrase."""


class HistoryError(TmzError):
    """The history database cannot be opened, migrated or written."""
