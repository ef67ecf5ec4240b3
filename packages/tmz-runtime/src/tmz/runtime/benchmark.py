"""Speed and memory of a bundle on LiteRT-LM: time to first token, prefill and decode tokens/s, peak RSS.

Prompts are real tmz-v1 translation requests padded to several lengths and sent through the conversation
API, as the app sends them; the stop tokens are suppressed so that every run decodes the same number of
tokens. The engine's own counters give prefill/decode rates; wall-clock TTFT is measured beside them.
"""

from __future__ import annotations

import os
import platform
import resource
import statistics
import time
from collections.abc import Sequence
from importlib.metadata import version
from typing import Any

import litert_lm

from tmz.core.plugins import get_registry
from tmz.core.prompt import Side, messages
from tmz.core.registry import Registry
from tmz.runtime.bundle import create_engine, open_bundle
from tmz.runtime.errors import EngineError

DEFAULT_PROMPT_TOKENS = (32, 128, 512)
#: Padding for long prompts: words every tokenizer of ours knows, in the source language of the prompt.
_FILLER = "where is the hospital please help me now "


def peak_rss_mib() -> float:
    """Peak resident memory of this whole process so far (Python included), MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _prompt(registry: Registry, engine: litert_lm.Engine, tokens: int) -> tuple[dict[str, Any], int]:
    """The longest user turn whose rendered prompt has at most ``tokens`` tokens (else the shortest one),
    and its token count: the text is padded word by word, the count found by doubling then bisection."""
    words = _FILLER.split()

    def render(n: int) -> tuple[dict[str, Any], int]:
        text = " ".join(words[i % len(words)] for i in range(n))
        turn = messages(registry, Side("en", "Latn"), Side("zgh", "Tfng"), text)[0]
        with engine.create_conversation() as conv:
            return turn, len(engine.tokenize(conv.render_message_to_string(turn)))

    lo_n, lo = 1, render(1)
    if lo[1] >= tokens:
        return lo
    hi_n = 2
    while (found := render(hi_n))[1] <= tokens:
        lo_n, lo, hi_n = hi_n, found, hi_n * 2
    while hi_n - lo_n > 1:
        mid = (lo_n + hi_n) // 2
        found = render(mid)
        if found[1] <= tokens:
            lo_n, lo = mid, found
        else:
            hi_n = mid
    return lo


def benchmark(
    bundle: str | os.PathLike[str],
    *,
    prompt_tokens: Sequence[int] = DEFAULT_PROMPT_TOKENS,
    decode_tokens: int = 32,
    repeats: int = 3,
    threads: int | None = None,
    activation: str | None = None,
    registry: Registry | None = None,
) -> dict[str, Any]:
    """Median TTFT and prefill/decode tokens/s per prompt length, with peak RSS; a JSON-ready dict.

    ``activation`` is LiteRT-LM's activation data type (see :func:`~tmz.runtime.bundle.create_engine`).

    Lengths that do not fit the bundle's context with ``decode_tokens`` more are reported as skipped.
    ``registry``: the languages and backends (default: the installed plugins').
    """
    registry = registry or get_registry()
    b = open_bundle(bundle, registry)
    rss_before = peak_rss_mib()
    start = time.perf_counter()
    engine = create_engine(b, threads=threads, activation=activation, benchmark=True)
    init_s = time.perf_counter() - start
    context = b.context_tokens
    stop_ids = [ids[0] for ids in engine.eos_token_ids if len(ids) == 1]  # single-token stops
    runs, skipped = [], []
    try:
        for target in prompt_tokens:
            if target + decode_tokens > context:
                skipped.append(
                    {"prompt_tokens": target, "reason": f"exceeds the context of {context} tokens"}
                )
                continue
            turn, count = _prompt(registry, engine, target)
            if count > target:
                skipped.append(
                    {"prompt_tokens": target, "reason": f"the shortest translation prompt has {count} tokens"}
                )
                continue
            samples = [_run(engine, turn, decode_tokens, stop_ids) for _ in range(repeats)]
            medians = {k: round(statistics.median(s[k] for s in samples), 5) for k in samples[0]}
            runs.append({"requested_tokens": target, "prompt_tokens": count, **medians,
                         "peak_rss_mib": round(peak_rss_mib(), 1)})  # fmt: skip
    finally:
        engine.close()
    return {
        "bundle": b.path.name,
        "bundle_sha256": b.sha256,
        "bundle_bytes": b.path.stat().st_size,
        "backend": b.backend.name,
        "context_tokens": context,
        "engine": f"litert-lm-api {version('litert-lm-api')}, CPU",
        "threads": threads,
        "activation": activation or "engine default",
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "processor": platform.machine(),
            "load_average_1m": round(os.getloadavg()[0], 2),  # other work on the machine skews the numbers
        },
        "decode_tokens": decode_tokens,
        "repeats": repeats,
        "init_s": round(init_s, 4),
        "peak_rss_mib_before_engine": round(rss_before, 1),
        "runs": runs,
        "skipped": skipped,
    }


def _run(
    engine: litert_lm.Engine, turn: dict[str, Any], decode_tokens: int, stop_ids: list[int]
) -> dict[str, float]:
    conv = engine.create_conversation(
        sampler_config=litert_lm.SamplerConfig(top_k=1, temperature=0.0, seed=0),
        max_output_tokens=decode_tokens,
    )
    with conv:
        start = time.perf_counter()
        first = None
        try:
            for _ in conv.send_message_async(
                turn, suppress_tokens_config=litert_lm.SuppressTokensConfig(suppress_tokens=stop_ids)
            ):
                first = first or time.perf_counter()
        except RuntimeError as e:
            raise EngineError(f"benchmark generation failed ({e})") from e
        total = time.perf_counter() - start
        info = conv.get_benchmark_info()
    return {
        "wall_ttft_s": (first or time.perf_counter()) - start,
        "wall_total_s": total,
        "ttft_s": info.time_to_first_token_in_second,
        "prefill_tokens": info.last_prefill_token_count,
        "prefill_tokens_per_s": info.last_prefill_tokens_per_second,
        "decoded_tokens": info.last_decode_token_count,
        "decode_tokens_per_s": info.last_decode_tokens_per_second,
    }
