"""Statistics of a prepared dataset: the manifest's counts and length percentiles per split."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.compute as pc

from tmz.core.manifest import DatasetManifest, load_manifest
from tmz.data.tokens import token_counter

PERCENTILES = (50, 90, 99, 100)


def load_dataset_dir(path: str | os.PathLike[str]):
    """The verified manifest and the DatasetDict of a dataset directory written by ``prepare``."""
    from datasets import DatasetDict

    manifest: DatasetManifest = load_manifest(path, expect_kind="dataset")
    return manifest, DatasetDict.load_from_disk(str(Path(path) / "hf"))


def _percentiles(values: np.ndarray) -> dict[str, float]:
    if len(values) == 0:
        return {}
    return {f"p{p}" if p < 100 else "max": float(np.percentile(values, p)) for p in PERCENTILES}


def stats(path: str | os.PathLike[str], tokenizer: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Counts (from the manifest) and character/token length percentiles of source and target texts per split."""
    manifest, dd = load_dataset_dir(path)
    count = token_counter(tokenizer) if tokenizer else None
    lengths: dict[str, Any] = {}
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
        lengths[split] = entry
    return {
        "name": manifest.name,
        "rows": manifest.results["rows"],
        "examples": manifest.results["examples"],
        "splits": {
            k: {kk: v[kk] for kk in ("examples", "groups")} for k, v in manifest.results["splits"].items()
        },
        "lengths": lengths,
    }
