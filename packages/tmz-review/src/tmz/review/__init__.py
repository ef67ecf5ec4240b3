"""tmz review: a local page where native speakers rate and correct translations, exported back as a corpus.

The store, items and judgements load with the package; the web app, the export and the report (Starlette,
matplotlib, krippendorff) are re-exported lazily.
"""

from tmz.core.lazy import lazy_attributes
from tmz.review.errors import NoJudgementsError, ReviewDataError, ReviewerError, ReviewStoreError
from tmz.review.item import Item
from tmz.review.judgement import ERROR_NAMES, Judgement
from tmz.review.store import Store

__all__ = [
    "ERROR_NAMES",
    "Item",
    "Judgement",
    "NoJudgementsError",
    "ReviewDataError",
    "ReviewStoreError",
    "ReviewerError",
    "Store",
    "build_report",
    "create_app",
    "export",
    "prepare",
    "write_report",
]

__getattr__ = lazy_attributes(
    __name__,
    {
        "create_app": "tmz.review.app",
        "export": "tmz.review.export",
        "prepare": "tmz.review.serve",
        "build_report": "tmz.review.report",
        "write_report": "tmz.review.report",
    },
)
