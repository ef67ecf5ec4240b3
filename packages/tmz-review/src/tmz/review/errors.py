"""Named errors of tmz-review: each says which file, reviewer or field is wrong and what to do."""

from tmz.core.errors import DataError, TmzError


class ReviewStoreError(TmzError):
    """The review database cannot be opened, migrated or written."""


class ReviewerError(TmzError):
    """A reviewer is unknown, or a name is already taken."""


class ReviewDataError(DataError):
    """A file given to review (dataset, corpus, batch run) cannot be read as review items."""


class NoJudgementsError(TmzError):
    """A report was asked of a database that holds no judgement yet."""
