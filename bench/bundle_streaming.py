"""Benchmark of `tmz bundle make` + `verify --no-smoke` at the size of a real model: seconds and peak RSS.

The "model" is random bytes of the size of Gemma 3 1B int8 (~1 GB; bundling never parses it), the tokenizer a
small SentencePiece model with Gemma's special pieces, trained here on generated syllables. Shows that bundles
are streamed: peak memory does not grow with the model. Results go to bench/results/bundle_streaming.json.
Usage: uv run python bench/bundle_streaming.py [--mib 1024] [--work work/bench-bundle]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import sys
import time
from datetime import date
from pathlib import Path

import sentencepiece as spm

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import machine  # noqa: E402

from tmz.bundle import bundle, verify_bundle  # noqa: E402
from tmz.core.chat_format import GEMMA3  # noqa: E402
from tmz.core.kinds.export import Components, ExportResults, ExportSettings, LlmSpec, Recipes, Usage  # noqa: E402
from tmz.core.manifest import ExportManifest, Producer, list_files, write_manifest  # noqa: E402
from tmz.core.prompt import PROMPT_FORMAT_ID  # noqa: E402

#: the versions the result records (bundling needs no torch)
PACKAGES = ("tmz-core", "tmz-bundle", "litert-lm-builder", "litert-lm-api", "sentencepiece")

SPECIAL = ["<mask>", *GEMMA3.special_tokens]


def make_export(root: Path, mib: int) -> Path:
    """An export directory (docs/contracts.md) with a ``mib`` MiB random model and a real SentencePiece tokenizer."""
    export = root / "export"
    export.mkdir(parents=True)
    rng = random.Random(0)
    corpus = root / "corpus.txt"
    corpus.write_text(
        "\n".join(
            " ".join(rng.choice(["ta", "ma", "zi", "ɣt", "nu"]) for _ in range(12)) for _ in range(2000)
        )
    )
    spm.SentencePieceTrainer.train(
        input=str(corpus), model_prefix=str(export / "tokenizer"), vocab_size=280, model_type="bpe",
        pad_id=0, eos_id=1, bos_id=2, unk_id=3, pad_piece="<pad>", eos_piece="<eos>", bos_piece="<bos>",
        unk_piece="<unk>", user_defined_symbols=SPECIAL, byte_fallback=True, minloglevel=2,
    )  # fmt: skip
    (export / "tokenizer.vocab").unlink()
    with open(export / "model.tflite", "wb") as f:
        for _ in range(mib):
            f.write(os.urandom(1 << 20))
    manifest = ExportManifest(
        name="bench-export", producer=Producer.of("tmz-export"), backend="gemma3-1b-text", files=list_files(export),
        languages=["en", "zgh"], dialects=["zgh"], scripts=["Latn", "Tfng"], directions=["en_Latn->zgh_Tfng"],
        prompt_format=PROMPT_FORMAT_ID,
        settings=ExportSettings(
            quantization="int8", recipes=Recipes(llm=None), prefill_lengths=[128], kv_cache_max_len=1024,
            export_task="text_generation", vision=False,
            components=Components(prefill_decode="model.tflite", tokenizer="tokenizer.model"),
            llm=LlmSpec(model_type="gemma3", start_token="<bos>", stop_tokens=list(GEMMA3.stop_tokens),
                        chat_template="", prompt_prefix=GEMMA3.user_prefix, prompt_suffix=GEMMA3.prompt_suffix),
            litert_torch="none (a synthetic model file)",
        ),
        results=ExportResults(checks={}, export=Usage(seconds=0.0, peak_rss_mb=0.0)),
    )  # fmt: skip
    write_manifest(manifest, export)
    return export


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=1024, help="Size of the synthetic model in MiB.")
    parser.add_argument("--work", type=Path, default=Path("work/bench-bundle"))
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).parent / "results" / "bundle_streaming.json"
    )
    args = parser.parse_args()
    shutil.rmtree(args.work, ignore_errors=True)
    export = make_export(args.work, args.mib)
    rss_before = peak_rss_mb()
    load_start = os.getloadavg()
    runs = []
    for fmt in ("task", "litertlm"):
        start = time.perf_counter()
        m = bundle(export, fmt, args.work / "dist", allow_no_parity=True)  # random weights: no parity
        made = time.perf_counter() - start
        start = time.perf_counter()
        verify_bundle(args.work / "dist" / m.files[0].path, smoke=False)
        runs.append({"format": fmt, "file": m.files[0].path, "bytes": m.files[0].size,
                     "make_s": round(made, 2), "verify_no_smoke_s": round(time.perf_counter() - start, 2),
                     "peak_rss_mb_so_far": round(peak_rss_mb(), 1)})  # fmt: skip
    result = {
        "benchmark": "bundle_streaming",
        "date": date.today().isoformat(),
        "command": f"uv run python bench/bundle_streaming.py --mib {args.mib}",
        "machine": machine(PACKAGES),  # its load_average: at the end
        "load_average_start": [round(x, 2) for x in load_start],  # 1, 5, 15 minutes: the CPU is shared
        "model_mib": args.mib,
        "peak_rss_mb_before_bundling": round(rss_before, 1),
        "runs": runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    shutil.rmtree(args.work, ignore_errors=True)


if __name__ == "__main__":
    main()
