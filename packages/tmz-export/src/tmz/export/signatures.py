"""The prefill signatures an export gets by default (light: the CLI reads them without loading the converter)."""

from __future__ import annotations

#: LiteRT-LM pads a prompt to the smallest prefill signature that fits, so a ladder keeps short requests (the app's
#: phrases) cheap: see bench/README.md. Lengths above the KV cache are left out.
PREFILL_LADDER = (32, 64, 128, 256, 512)


def default_prefill_lengths(kv_cache: int) -> list[int]:
    """The prefill ladder up to ``kv_cache`` (the KV cache itself when it is shorter than every rung)."""
    return [p for p in PREFILL_LADDER if p <= kv_cache] or [kv_cache]
