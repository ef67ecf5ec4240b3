"""Statistics of a prepared dataset: the manifest's counts and length percentiles per split."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow.compute as pc

from tmz.core.dataset import load_splits
from tmz.core.manifest import DatasetManifest, load_manifest
from tmz.data.tokens import token_counter

if TYPE_CHECKING:
    from datasets import DatasetDict

PERCENTILES = (50, 90, 99, 100)


def load_dataset_dir(path: str | os.PathLike[str]) -> tuple[DatasetManifest, DatasetDict]:
    """The verified manifest and the DatasetDict of a dataset directory written by ``prepare``."""
    manifest: DatasetManifest = load_manifest(path, expect_kind="dataset")
    return manifest, load_splits(path)


def _percentiles(values: np.ndarray) -> dict[str, float]:
    if len(values) == 0:
        return {}
    return {f"p{p}" if p < 100 else "max": float(np.percentile(values, p)) for p in PERCENTILES}


def lengths(dd: DatasetDict, tokenizer: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Character (and with ``tokenizer`` token) length percentiles of source and target texts per split."""
    count = token_counter(tokenizer) if tokenizer else None
    out: dict[str, Any] = {}
    for split, ds in dd.items():
        table = ds.data.table
        entry: dict[str, Any] = {}
        for side in ("source_text", "target_text"):
            col = pc.drop_null(table.column(side))
            entry[f"{side.split('_')[0]}_chars"] = _percentiles(
                pc.utf8_length(col).to_numpy(zero_copy_only=False)
            )
            if count is not None:
                toks = np.array([count(t) for t in col.to_pylist()])
                entry[f"{side.split('_')[0]}_tokens"] = _percentiles(toks)
        out[split] = entry
    return out


def summary(manifest: DatasetManifest, percentiles: dict[str, Any]) -> dict[str, Any]:
    """The manifest's counts and the length ``percentiles`` as one JSON-ready mapping (``tmz data stats --json``)."""
    r = manifest.results
    return {
        "name": manifest.name,
        "rows": r.rows.model_dump(),
        "examples": r.examples.model_dump(),
        "splits": {k: {"examples": v.examples, "groups": v.groups} for k, v in r.splits.items()},
        "lengths": percentiles,
    }


def stats(path: str | os.PathLike[str], tokenizer: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Counts (from the manifest) and character/token length percentiles of source and target texts per split."""
    manifest, dd = load_dataset_dir(path)
    return summary(manifest, lengths(dd, tokenizer))
