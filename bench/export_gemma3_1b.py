"""Export of the gemma-3-1b-it architecture (random weights) through `tmz.export.export` on this CPU: seconds,
peak RSS and file sizes for int8, int4 and fp32, against the litert-community Gemma3-1B-IT anchors.

The checkpoint is built locally (no download): `Gemma3ForCausalLM` with the real 1B text config and a SentencePiece
tokenizer of exactly 262,144 pieces (a small Gemma-like BPE model, tmz.train.tiny's settings, padded with
`<unused_N>` pieces of type UNUSED so Hugging Face and SentencePiece agree). Each export runs alone in a child
process (peak RSS is the child's `ru_maxrss`), int8 then int4 then fp32; a failure (out of memory included) is
recorded, not hidden. The checkpoint and exports stay in --work for bench/runtime_vs_transformers.py.

Usage:
    uv run python bench/export_gemma3_1b.py [--quantizations int8,int4,fp32] [--work work/bench-gemma3-1b]
        [--prefill 32,64,128,256,512] [--tag ladder]

`--tag` names the result files (`export_gemma3_1b-<tag>.{json,png}`) so earlier runs stay beside it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from _machine import machine, run_measured

from tmz.core.atomic import write_text_atomic

RESULTS = Path(__file__).resolve().parent / "results"
VOCAB_SIZE = 262_144
#: gemma-3-1b-it's text config (../shared/FINDINGS.md, "Real Gemma 3 facts").
GEMMA3_1B: dict[str, Any] = dict(
    hidden_size=1152, intermediate_size=6912, num_hidden_layers=26, num_attention_heads=4, num_key_value_heads=1,
    head_dim=256, query_pre_attn_scalar=256, vocab_size=VOCAB_SIZE, sliding_window=512, sliding_window_pattern=6,
    max_position_embeddings=32768, tie_word_embeddings=True,
    rope_parameters={"full_attention": {"rope_type": "default", "rope_theta": 1_000_000.0},
                     "sliding_attention": {"rope_type": "default", "rope_theta": 10_000.0}},
)  # fmt: skip
PREFILL_LENGTHS = [128, 512]  #: the first recorded run; --prefill overrides
KV_CACHE = 1024
#: litert-community Gemma3-1B-IT published sizes (MB), the anchors of item 2.
ANCHORS_MB = {"int8": [1005, 1005], "int4": [530, 660]}


def padded_tokenizer(small: bytes, size: int = VOCAB_SIZE) -> bytes:
    """The serialized SentencePiece ``small`` padded to ``size`` pieces with ``<unused_N>`` UNUSED pieces."""
    from sentencepiece import sentencepiece_model_pb2 as pb

    proto = pb.ModelProto()
    proto.ParseFromString(small)
    lowest = min(p.score for p in proto.pieces)
    for i in range(size - len(proto.pieces)):
        proto.pieces.add(piece=f"<unused_{i}>", score=lowest - 1.0, type=pb.ModelProto.SentencePiece.UNUSED)
    return proto.SerializeToString()


def build_checkpoint(out: Path, seed: int = 0) -> dict[str, Any]:
    """The random-weight gemma-3-1b-it checkpoint (bfloat16, as published) with its tokenizer, into ``out``."""
    import torch
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig, GenerationConfig

    from tmz.core.atomic import atomic_directory
    from tmz.core.kinds.model import ModelSettings
    from tmz.core.manifest import ModelManifest, Producer, list_files, write_manifest
    from tmz.core.plugins import get_registry
    from tmz.core.prompt import PROMPT_FORMAT_ID
    from tmz.train.chat import CHAT_TEMPLATE_FILE
    from tmz.train.tiny import (
        CHAT_TEMPLATE,
        TOKENIZER_FILE,
        alphabet_lines,
        load_tokenizer,
        prompt_lines,
        set_vocab_file,
        train_sentencepiece,
    )

    with atomic_directory(out, kind="model") as tmp:
        small = train_sentencepiece([*prompt_lines(get_registry()), *alphabet_lines()])
        (tmp / TOKENIZER_FILE).write_bytes(padded_tokenizer(small))
        tok = load_tokenizer(tmp / TOKENIZER_FILE)
        if len(tok) != VOCAB_SIZE:
            raise SystemExit(f"the Hugging Face tokenizer has {len(tok)} tokens, expected {VOCAB_SIZE}")
        eos = [1, tok.convert_tokens_to_ids("<end_of_turn>")]
        torch.manual_seed(seed)
        config = Gemma3TextConfig(pad_token_id=0, eos_token_id=eos, bos_token_id=2, **GEMMA3_1B)
        model = Gemma3ForCausalLM(config).to(torch.bfloat16).eval()
        model.generation_config = GenerationConfig(
            bos_token_id=2, eos_token_id=eos, pad_token_id=0, do_sample=False
        )
        model.save_pretrained(tmp)
        tok.save_pretrained(tmp)
        set_vocab_file(tmp)
        write_text_atomic(tmp / CHAT_TEMPLATE_FILE, CHAT_TEMPLATE)
        settings = {"parameters": sum(p.numel() for p in model.parameters()), "dtype": "bfloat16",
                    "vocab_size": VOCAB_SIZE, "seed": seed, "text_config": GEMMA3_1B}  # fmt: skip
        registry = get_registry()
        manifest = ModelManifest(
            name=out.name, producer=Producer.of("tmz-train"), backend="gemma3-1b-text", files=list_files(tmp),
            languages=sorted(registry.languages), dialects=sorted(registry.dialects),
            scripts=sorted({s for lang in registry.languages.values() for s in lang.scripts}),
            prompt_format=PROMPT_FORMAT_ID,
            settings=ModelSettings(described_by="bench/export_gemma3_1b.py: random weights, gemma-3-1b-it's config"),
        )  # fmt: skip
        write_manifest(manifest, tmp)
    return settings


def export_one(checkpoint: Path, out: Path, quantization: str, prefill: list[int], parity: bool) -> None:
    """One export through the product path (run in a child process by main); with ``parity`` the export's own
    check against the PyTorch checkpoint runs too (its report is in the export manifest, failed or not)."""
    from tmz.core.errors import TmzError
    from tmz.export import export

    try:
        export(checkpoint, out, quantization=quantization, prefill_lengths=prefill, kv_cache=KV_CACHE,
               parity=parity)  # fmt: skip
    except TmzError as e:  # a failed parity check still wrote the export and its report
        if not (out / "tmz-manifest.json").is_file():
            raise
        print(f"parity failed: {e}", flush=True)


def sizes(export_dir: Path) -> dict[str, Any]:
    """File sizes (bytes) of the export's components, from its manifest."""
    from tmz.core.manifest import load_manifest

    manifest = load_manifest(export_dir, expect_kind="export", verify=False)
    files = {f.path: f.size for f in manifest.files}
    comps = manifest.settings.components
    return {
        "litertlm_bytes": files[comps.litertlm],
        "prefill_decode_tflite_bytes": files[comps.prefill_decode],
        "tokenizer_bytes": files[comps.tokenizer],
        "export_dir_bytes": sum(files.values()),
        "export_own_measure": manifest.results.export.model_dump(),
        "parity": None if manifest.results.parity is None else summary(manifest.results.parity),
    }


def summary(report: Any) -> dict[str, Any]:
    """The parity report without its per-prompt cases."""
    return report.model_dump(mode="json", exclude={"cases"})


def plot(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    done = [r for r in report["exports"] if r["status"] == "ok"]
    names = [r["quantization"] for r in done]
    fig, axes = plt.subplots(1, 3, figsize=(12, 4))
    axes[0].bar(names, [r["seconds"] for r in done], color="tab:blue")
    axes[0].set_title("export time (s)")
    axes[1].bar(names, [r["peak_rss_mib"] / 1024 for r in done], color="tab:orange")
    axes[1].set_title("peak RSS of the export (GiB)")
    axes[2].bar(names, [r["litertlm_bytes"] / 1e6 for r in done], color="tab:green", label="tmz .litertlm")
    for i, name in enumerate(names):
        if name in ANCHORS_MB:
            lo, hi = ANCHORS_MB[name]
            axes[2].plot([i - 0.4, i + 0.4], [lo, lo], "k--")
            if hi != lo:
                axes[2].plot([i - 0.4, i + 0.4], [hi, hi], "k--")
    axes[2].set_title("file size (MB); dashed: litert-community")
    fig.suptitle(f"gemma-3-1b architecture export on {report['machine']['cpu_count']} CPU cores")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quantizations", default="int8,int4,fp32")
    parser.add_argument("--work", type=Path, default=Path("work/bench-gemma3-1b"))
    parser.add_argument(
        "--prefill", default=",".join(map(str, PREFILL_LENGTHS)), help="prefill signature lengths"
    )
    parser.add_argument("--tag", default="", help="suffix of the result files")
    parser.add_argument(
        "--parity", action="store_true", help="run the export's parity check (PyTorch vs LiteRT-LM)"
    )
    parser.add_argument("--only", help=argparse.SUPPRESS)  # child mode: run this one export in-process
    parser.add_argument(
        "--build", action="store_true", help=argparse.SUPPRESS
    )  # child mode: build the checkpoint
    args = parser.parse_args()
    checkpoint = args.work / "checkpoint"
    prefill = [int(x) for x in args.prefill.split(",") if x.strip()]
    if args.build:
        print(json.dumps(build_checkpoint(checkpoint)), flush=True)
        return
    if args.only:
        export_one(checkpoint, args.work / f"export-{args.only}", args.only, prefill, args.parity)
        return

    report: dict[str, Any] = {
        "benchmark": "export_gemma3_1b",
        "command": " ".join(["uv run python bench/export_gemma3_1b.py", *sys.argv[1:]]),
        "machine": machine(),
        "settings": {
            "prefill_lengths": prefill,
            "kv_cache": KV_CACHE,
            "parity": args.parity,
            "config": GEMMA3_1B,
        },  # fmt: skip
        "anchors_mb": {"litert-community Gemma3-1B-IT": ANCHORS_MB},
        "exports": [],
    }
    if not (checkpoint / "config.json").is_file():
        print(f"building the checkpoint in {checkpoint}", flush=True)
        report["checkpoint_build"] = run_measured(
            [sys.executable, __file__, "--work", str(args.work), "--build"]
        )
        if report["checkpoint_build"]["returncode"] != 0:
            raise SystemExit(f"building the checkpoint failed: {report['checkpoint_build']}")
    report["checkpoint"] = {
        "path": str(checkpoint),
        "bytes": sum(p.stat().st_size for p in checkpoint.iterdir() if p.is_file()),
    }
    name = f"export_gemma3_1b-{args.tag}" if args.tag else "export_gemma3_1b"
    out_json = RESULTS / f"{name}.json"
    for q in [x.strip() for x in args.quantizations.split(",") if x.strip()]:
        print(f"exporting {q}", flush=True)
        child = [sys.executable, __file__, "--work", str(args.work), "--prefill", args.prefill, "--only", q,
                 *(["--parity"] if args.parity else [])]  # fmt: skip
        result: dict[str, Any] = {"quantization": q, **run_measured(child)}
        if result["returncode"] == 0:
            result.update(status="ok", **sizes(args.work / f"export-{q}"))
        else:
            killed = result["returncode"] == -9
            result["status"] = "killed (SIGKILL: out of memory?)" if killed else "failed"
        report["exports"].append(result)
        report["machine"]["load_average"] = machine()["load_average"]
        write_text_atomic(out_json, json.dumps(report, indent=2) + "\n")
        print(json.dumps(result), flush=True)
    plot(report, RESULTS / f"{name}.png")
    print(f"-> {out_json}")


if __name__ == "__main__":
    main()
