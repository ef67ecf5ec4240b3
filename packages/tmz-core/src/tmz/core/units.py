"""Sizes as people read them."""

from __future__ import annotations


def human_size(n: float) -> str:
    """``n`` bytes as B, KB, MB or GB (powers of 1024; one decimal above bytes), e.g. ``431.6 KB``."""
    for unit in ("B", "KB", "MB"):
        if n < 1024:
            return f"{n:.0f} B" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"
