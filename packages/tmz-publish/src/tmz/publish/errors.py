"""What tmz-publish raises at users."""

from tmz.core.errors import TmzError


class PublishError(TmzError):
    """An artifact cannot be described or published as asked (its card, its license, the upload)."""
