"""tmz core: manifests, plugin hooks, the language registry, the prompt format and the CLI root."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("tmz-core")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0"
