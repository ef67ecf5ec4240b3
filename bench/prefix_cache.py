"""Time to first token of six-word tmz-v1 requests with the instruction prefilled once and cloned per request
(LiteRT-LM's ``Session.clone`` / ``Conversation.clone``, litert-lm-api-nightly 0.19), against a fresh prefill.

Each request is the tmz-v1 user turn (``tmz.core.prompt.messages``) of one of :data:`PHRASES`, English ->
Tamazight (Tifinagh), another phrase every call. Its rendered prompt is split where the phrase starts: the prefix
(turn marker and instruction, the same for every request of one direction) and the suffix (phrase, end of turn,
model turn). Four ways, each ``--repeats`` times after one warm-up, median:

- ``conversation_fresh``: a new conversation, ``send_message_async`` of the turn (what tmz.runtime does today);
- ``session_fresh``: a new raw session (no prompt template), ``run_prefill`` of prefix + suffix, decode;
- ``session_clone``: a session that prefilled the prefix once is cloned, the clone prefills the suffix, decode
  (TTFT includes the clone);
- ``conversation_clone``: a conversation opened with the instruction as its system message, cloned, the phrase
  sent (Gemma 3's template folds a system message into the first user turn: see its prefilled tokens).

Then ``session_clone`` with suffixes of plain phrase text cut to ``--suffix-tokens`` tokens, no turn markers (this
bench's tokenizer spells the closing markers in 9+ tokens; the sweep times the prefill signatures). TTFT
is wall time from the call to the first streamed text chunk. The measuring runs in ``--python``, a venv with the
nightly (the project's lock pins litert-lm-api 0.18.1, which has no clone); this process renders the requests
with tmz and writes the JSON.

Usage:
    uv run python bench/prefix_cache.py BUNDLE [BUNDLE ...] --python /tmp/prefill-venv/bin/python
        [--suffix-tokens 8,16,32] [--repeats 5] [--threads 2] [--decode-tokens 8] [--tag TAG]

Example:
    python -m venv /tmp/prefill-venv
    /tmp/prefill-venv/bin/pip install litert-lm-api-nightly==0.19.0.dev20261026
    uv run python bench/prefix_cache.py /tmp/prefill-1b/bundles/gemma3-1b-text-tmz_q4_ekv1024.litertlm \\
        --python /tmp/prefill-venv/bin/python --tag ladder7
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
#: Six-word requests written for this bench; each call gets another one, so no run can reuse the last one's tokens.
PHRASES = (
    "where is the nearest bus stop",
    "please help me find my bag",
    "how much does this bread cost",
    "my mother is waiting at home",
    "can you call a doctor now",
    "the market opens early every morning",
    "we need water for the children",
    "is this road safe at night",
)


def _median(rows: list[dict[str, float]]) -> dict[str, float]:
    """Median of every field, and the smallest TTFT (the least disturbed by other jobs on a shared CPU)."""
    out = {k: round(statistics.median(r[k] for r in rows), 5) for k in rows[0]}
    return {**out, "ttft_min_s": round(min(r["ttft_s"] for r in rows), 5)}


def _first_chunk(stream: Any, start: float) -> tuple[float, int]:
    """Seconds from ``start`` to the first text chunk of ``stream`` and the number of chunks (drained)."""
    first, chunks = None, 0
    for _ in stream:
        first = first or time.perf_counter()
        chunks += 1
    return (first or time.perf_counter()) - start, chunks


def measure(job: dict[str, Any]) -> dict[str, Any]:
    """The four ways, and the clone with suffixes of ``suffix_tokens``, for ``job``; needs only litert_lm."""
    from importlib.metadata import version

    import litert_lm

    litert_lm.set_min_log_severity(litert_lm.LogSeverity.ERROR)
    start = time.perf_counter()
    engine = litert_lm.Engine(
        job["bundle"], backend=litert_lm.Backend.CPU(thread_count=job["threads"]),
        max_num_tokens=job["context_tokens"], enable_benchmark=True, cache_dir=job["cache_dir"],
    )  # fmt: skip
    init_s = time.perf_counter() - start
    turns, phrases, n, decode = job["turns"], job["phrases"], job["repeats"], job["decode_tokens"]
    sampler = litert_lm.SamplerConfig(top_k=1, temperature=0.0, seed=0)
    stop_ids = [ids[0] for ids in engine.eos_token_ids if len(ids) == 1]
    suppress = litert_lm.SuppressTokensConfig(suppress_tokens=stop_ids)
    with engine.create_conversation() as conv:
        rendered = [conv.render_message_to_string(t) for t in turns]
    cuts = [r.index(p) for r, p in zip(rendered, phrases, strict=True)]
    prefix = rendered[0][: cuts[0]]
    if any(r[:c] != prefix for r, c in zip(rendered, cuts, strict=True)):
        raise SystemExit("the requests do not share their prefix")
    suffixes = [r[c:] for r, c in zip(rendered, cuts, strict=True)]
    closing = suffixes[0][len(phrases[0]) :]  # end of turn + model turn
    count = [len(engine.tokenize(r)) for r in rendered]
    suffix_count = [len(engine.tokenize(x)) for x in suffixes]
    tokens = {"prefix_text": prefix, "rendered": [min(count), max(count)], "prefix": len(engine.tokenize(prefix)),
              "suffix": [min(suffix_count), max(suffix_count)], "closing": len(engine.tokenize(closing)),
              "split_matches": all(engine.tokenize(prefix) + engine.tokenize(x) == engine.tokenize(r)
                                   for x, r in zip(suffixes, rendered, strict=True))}  # fmt: skip
    calls = iter(range(10**9))

    def session() -> Any:
        return engine.create_session(
            apply_prompt_template=False, sampler_config=sampler, max_output_tokens=decode
        )

    def conversation_fresh() -> dict[str, float]:
        turn = turns[next(calls) % len(turns)]
        with engine.create_conversation(sampler_config=sampler, max_output_tokens=decode) as c:
            t0 = time.perf_counter()
            ttft, chunks = _first_chunk(c.send_message_async(turn, suppress_tokens_config=suppress), t0)
            info = c.get_benchmark_info()
        return {"ttft_s": ttft, "chunks": chunks, "prefill_tokens": info.last_prefill_token_count,
                "engine_ttft_s": info.time_to_first_token_in_second}  # fmt: skip

    def session_fresh() -> dict[str, float]:
        with session() as s:
            t0 = time.perf_counter()
            s.run_prefill([prefix + suffixes[next(calls) % len(suffixes)]])
            prefill_s = time.perf_counter() - t0
            ttft, chunks = _first_chunk(s.run_decode_async(), t0)
            info = s.get_benchmark_info()
        return {"ttft_s": ttft, "prefill_call_s": prefill_s, "chunks": chunks,
                "prefill_tokens": info.last_prefill_token_count}  # fmt: skip

    base = session()
    t0 = time.perf_counter()
    base.run_prefill([prefix])
    prefix_prefill_s = time.perf_counter() - t0
    prefix_prefill_tokens = base.get_benchmark_info().last_prefill_token_count

    def clone_with(suffix: str) -> dict[str, float]:
        t0 = time.perf_counter()
        with base.clone() as s:
            clone_s = time.perf_counter() - t0
            s.run_prefill([suffix])
            prefill_s = time.perf_counter() - t0 - clone_s
            ttft, chunks = _first_chunk(s.run_decode_async(), t0)
            info = s.get_benchmark_info()
        return {"ttft_s": ttft, "clone_s": clone_s, "prefill_call_s": prefill_s, "chunks": chunks,
                "prefill_tokens": info.last_prefill_token_count}  # fmt: skip

    def session_clone() -> dict[str, float]:
        return clone_with(suffixes[next(calls) % len(suffixes)])

    instruction = turns[0]["content"][0]["text"][: -len(phrases[0])].rstrip("\n")
    sys_conv = engine.create_conversation(
        sampler_config=sampler, max_output_tokens=decode, system_message=instruction
    )
    sys_tokens_before = sys_conv.token_count

    def conversation_clone() -> dict[str, float]:
        user = {"role": "user", "content": [{"type": "text", "text": phrases[next(calls) % len(phrases)]}]}
        t0 = time.perf_counter()
        with sys_conv.clone() as c:
            clone_s = time.perf_counter() - t0
            ttft, chunks = _first_chunk(c.send_message_async(user, suppress_tokens_config=suppress), t0)
            info = c.get_benchmark_info()
        return {"ttft_s": ttft, "clone_s": clone_s, "chunks": chunks,
                "prefill_tokens": info.last_prefill_token_count}  # fmt: skip

    ways = {"conversation_fresh": conversation_fresh, "session_fresh": session_fresh,
            "session_clone": session_clone, "conversation_clone": conversation_clone}  # fmt: skip
    out: dict[str, Any] = {}
    for name, fn in ways.items():
        fn()  # warm-up, not counted
        out[name] = _median([fn() for _ in range(n)])
    text = " ".join(phrases)
    sweep = []
    for target in job["suffix_tokens"]:
        samples = []
        for i in range(n + 1):  # the first is a warm-up
            words = text.split()
            src = " ".join(words[i:] + words[:i])
            cut = max(k for k in range(1, len(src)) if len(engine.tokenize(src[:k])) <= target)
            samples.append({**clone_with(src[:cut]), "suffix_tokens": len(engine.tokenize(src[:cut]))})
        sweep.append({"target_suffix_tokens": target, **_median(samples[1:])})
    base.close()
    sys_conv.close()
    engine.close()
    return {
        "engine": f"litert-lm-api-nightly {version('litert-lm-api-nightly')}, CPU",
        "init_s": round(init_s, 3),
        "tokens": tokens,
        "prefix_prefill_s": round(prefix_prefill_s, 5),
        "prefix_prefill_tokens": prefix_prefill_tokens,
        "conversation_clone_system_prefix_tokens": sys_tokens_before,
        "ways": out,
        "clone_suffix_sweep": sweep,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("bundles", nargs="*", type=Path)
    parser.add_argument("--python", required=True, help="python of a venv with litert-lm-api-nightly")
    parser.add_argument("--suffix-tokens", default="8,16,32", help="suffix lengths of the clone sweep")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--decode-tokens", type=int, default=8)
    parser.add_argument("--tag", default="", help="suffix of the result file")
    parser.add_argument(
        "--child", type=Path, help=argparse.SUPPRESS
    )  # child mode: measure the job in this file
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(json.loads(args.child.read_text()))), flush=True)
        return
    if not args.bundles:
        parser.error("name at least one bundle")

    from _machine import machine

    from tmz.core.atomic import write_text_atomic
    from tmz.core.plugins import get_registry
    from tmz.core.prompt import Side, messages
    from tmz.runtime.bundle import engine_cache_dir, open_bundle

    registry = get_registry()
    turns = [messages(registry, Side("en", "Latn"), Side("zgh", "Tfng"), p)[0] for p in PHRASES]
    report: dict[str, Any] = {
        "benchmark": "prefix_cache",
        "command": " ".join(["uv run python bench/prefix_cache.py", *sys.argv[1:]]),
        "machine": machine(),
        "phrases": list(PHRASES),
        "threads": args.threads,
        "repeats": args.repeats,
        "decode_tokens": args.decode_tokens,
        "bundles": [],
    }
    for path in args.bundles:
        b = open_bundle(path, registry)
        job = {"bundle": str(b.path), "turns": turns, "phrases": list(PHRASES), "threads": args.threads,
               "suffix_tokens": [int(x) for x in args.suffix_tokens.split(",") if x.strip()],
               "repeats": args.repeats, "decode_tokens": args.decode_tokens, "context_tokens": b.context_tokens,
               "cache_dir": str(engine_cache_dir())}  # fmt: skip
        job_file = Path(tempfile.mkdtemp(prefix="prefix-cache-")) / "job.json"
        job_file.write_text(json.dumps(job))
        load_before = machine()["load_average"]
        done = subprocess.run([args.python, __file__, "--python", args.python, "--child", str(job_file)],
                              capture_output=True, text=True, check=False)  # fmt: skip
        if done.returncode != 0:
            raise SystemExit(f"measuring {path} failed:\n{done.stderr[-3000:]}")
        result = json.loads(done.stdout.strip().splitlines()[-1])
        result.update(bundle=b.path.name, bundle_sha256=b.sha256, load_average_before=load_before,
                      load_average_after=machine()["load_average"])  # fmt: skip
        report["bundles"].append(result)
        print(json.dumps(result, indent=1), flush=True)
    name = f"prefix_cache-{args.tag}" if args.tag else "prefix_cache"
    out = RESULTS / f"{name}.json"
    write_text_atomic(out, json.dumps(report, indent=2) + "\n")
    print(f"-> {out}")


if __name__ == "__main__":
    main()
