"""tmz data: Prepare parallel corpora: read, validate, normalise, expand, split."""
