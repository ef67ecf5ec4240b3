"""Duplicates and leakage-free splits, computed on compact numpy arrays of 64-bit text keys.

Rows of one meaning share a group: any two rows that hold the same text (in any direction, and for
Tamazight in either script) are joined, so a test sentence never appears in train under another form.
A group's split depends only on its key and the seed: adding data never moves an existing group.
"""

from __future__ import annotations

import hashlib

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

SPLITS = ("train", "validation", "test")
_MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def key64(*parts: str) -> int:
    """A stable 64-bit key of some strings (blake2b)."""
    data = "\x1f".join(parts) + "\x1f"  # each part followed by a unit separator
    return int.from_bytes(
        hashlib.blake2b(data.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "little"
    )


def first_occurrence(keys: np.ndarray, rank: np.ndarray | None = None) -> np.ndarray:
    """For each element, the index of the first element with the same key, lower ``rank`` first (originals,
    rank 0, before derived ones)."""
    n = len(keys)
    index = np.arange(n)
    order = np.lexsort((index, rank)) if rank is not None else index
    _, first, inverse = np.unique(keys[order], return_index=True, return_inverse=True)
    rep = np.empty(n, dtype=np.int64)
    rep[order] = order[first][inverse]
    return rep


def groups(node_unit: np.ndarray, node_key: np.ndarray, n_units: int) -> np.ndarray:
    """The group key (uint64) of each unit: the smallest text key of its connected component.

    ``node_unit[i]`` is the unit a text key ``node_key[i]`` belongs to; units sharing a key are joined.
    Units without any key get 0.
    """
    uniq, ids = np.unique(node_key, return_inverse=True)
    first_node = np.full(n_units, -1, dtype=np.int64)
    units, first = np.unique(node_unit, return_index=True)
    first_node[units] = ids[first]
    m = len(uniq)
    edges = coo_matrix((np.ones(len(ids), dtype=np.int8), (first_node[node_unit], ids)), shape=(m, m))
    _, labels = connected_components(edges, directed=False)
    smallest = np.full(labels.max() + 1, np.iinfo(np.uint64).max, dtype=np.uint64)
    np.minimum.at(smallest, labels, uniq)
    out = np.zeros(n_units, dtype=np.uint64)  # units without keys (rejected ones) keep 0
    out[units] = smallest[labels[first_node[units]]]
    return out


def _mix(x: np.ndarray, seed: int) -> np.ndarray:
    """splitmix64 of ``x`` xor the seed: uniform, stable 64-bit values."""
    with np.errstate(over="ignore"):
        z = (x ^ np.uint64(seed * 0x9E3779B97F4A7C15 & 0xFFFFFFFFFFFFFFFF)) + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return (z ^ (z >> np.uint64(31))) & _MASK64


def assign_splits(
    group_keys: np.ndarray, validation_ratio: float, test_ratio: float, seed: int
) -> np.ndarray:
    """0 (train), 1 (validation) or 2 (test) per group key, deterministic in (key, seed)."""
    u = (_mix(group_keys.astype(np.uint64), seed) >> np.uint64(11)).astype(np.float64) / float(1 << 53)
    out = np.zeros(len(group_keys), dtype=np.int8)
    out[u < test_ratio + validation_ratio] = 1
    out[u < test_ratio] = 2
    return out
