"""Export of the gemma-3-1b-it architecture (random weights) through `tmz.export.export` on this CPU: seconds,
peak RSS and file sizes for int8, int4 and fp32, against the litert-community Gemma3-1B-IT anchors.

`--backend gemma3-270m-text` does the same for gemma-3-270m-it (results `export_gemma3_270m[-<tag>]`, work
`work/bench-gemma3-270m`). The checkpoint is built locally (no download): `Gemma3ForCausalLM` with the backend's
real text config (`ModelBackend.text_config`, tmz.core.builtins) and a SentencePiece
tokenizer of exactly 262,144 pieces (a small Gemma-like BPE model, tmz.train.tiny's settings, padded with
`<unused_N>` pieces of type UNUSED so Hugging Face and SentencePiece agree). Each export runs alone in a child
process (peak RSS is the child's `ru_maxrss`), int8 then int4 then fp32; a failure (out of memory included) is
recorded, not hidden. The checkpoint and exports stay in --work for bench/runtime_vs_transformers.py.

Usage:
    uv run python bench/export_gemma3_1b.py [--backend gemma3-1b-text|gemma3-270m-text]
        [--quantizations int8,int4,fp32] [--work work/bench-gemma3-1b]
        [--prefill 32,64,128,256,512] [--tag ladder] [--parity]
        [--model-dtype float32|bfloat16] [--converter v1|v1-lightweight|v2|v2-streaming]

`--tag` names the result files (`export_gemma3_1b-<tag>.{json,png}`) so earlier runs stay beside it.
`--model-dtype` and `--converter` are tmz-export's ExportOptions of the same names (litert-torch's memory options);
the load average is recorded before and after each export (the CPU is shared, so seconds are inflated under load).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from _machine import machine, run_measured

from tmz.core.atomic import write_text_atomic
from tmz.core.plugins import get_registry

RESULTS = Path(__file__).resolve().parent / "results"
VOCAB_SIZE = 262_144
#: The backends this bench builds (their real text configs are in the registry) -> result and work name.
BENCHED = {"gemma3-1b-text": "gemma3_1b", "gemma3-270m-text": "gemma3_270m"}
PREFILL_LENGTHS = [128, 512]  #: the first recorded run; --prefill overrides
KV_CACHE = 1024
#: litert-community Gemma3-1B-IT published sizes (MB), the anchors of item 2 (none recorded for the 270M).
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


def build_checkpoint(out: Path, backend: str, seed: int = 0) -> dict[str, Any]:
    """The random-weight checkpoint of ``backend`` (its model's text config, bfloat16 as published) with its
    tokenizer, into ``out``."""
    import torch
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig, GenerationConfig

    from tmz.core.atomic import atomic_directory
    from tmz.core.kinds.model import ModelSettings
    from tmz.core.manifest import ModelManifest, Producer, list_files, write_manifest
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

    registry = get_registry()
    with atomic_directory(out, kind="model") as tmp:
        small = train_sentencepiece([*prompt_lines(registry), *alphabet_lines()])
        (tmp / TOKENIZER_FILE).write_bytes(padded_tokenizer(small))
        tok = load_tokenizer(tmp / TOKENIZER_FILE)
        if len(tok) != VOCAB_SIZE:
            raise SystemExit(f"the Hugging Face tokenizer has {len(tok)} tokens, expected {VOCAB_SIZE}")
        eos = [1, tok.convert_tokens_to_ids("<end_of_turn>")]
        torch.manual_seed(seed)
        text_config = registry.backend(backend).text_config
        config = Gemma3TextConfig(pad_token_id=0, eos_token_id=eos, bos_token_id=2, **text_config)
        model = Gemma3ForCausalLM(config).to(torch.bfloat16).eval()
        model.generation_config = GenerationConfig(
            bos_token_id=2, eos_token_id=eos, pad_token_id=0, do_sample=False
        )
        model.save_pretrained(tmp)
        tok.save_pretrained(tmp)
        set_vocab_file(tmp)
        write_text_atomic(tmp / CHAT_TEMPLATE_FILE, CHAT_TEMPLATE)
        settings = {"parameters": sum(p.numel() for p in model.parameters()), "dtype": "bfloat16",
                    "vocab_size": VOCAB_SIZE, "seed": seed, "text_config": text_config}  # fmt: skip
        manifest = ModelManifest(
            name=out.name, producer=Producer.of("tmz-train"), backend=backend, files=list_files(tmp),
            languages=sorted(registry.languages), dialects=sorted(registry.dialects),
            scripts=sorted({s for lang in registry.languages.values() for s in lang.scripts}),
            prompt_format=PROMPT_FORMAT_ID,
            settings=ModelSettings(described_by=f"bench/export_gemma3_1b.py: random weights, {backend}'s config"),
        )  # fmt: skip
        write_manifest(manifest, tmp)
    return settings


def export_one(
    checkpoint: Path, out: Path, quantization: str, prefill: list[int], parity: bool, model_dtype: str,
    converter: str,
) -> None:  # fmt: skip
    """One export through the product path (run in a child process by main); with ``parity`` the export's own
    check against the PyTorch checkpoint runs too (its report is in the export manifest, failed or not)."""
    from tmz.core.errors import TmzError
    from tmz.export import export

    try:
        export(checkpoint, out, quantization=quantization, prefill_lengths=prefill, kv_cache=KV_CACHE,
               parity=parity, model_dtype=model_dtype, converter=converter)  # fmt: skip
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


def plot(report: dict[str, Any], path: Path, backend: str) -> None:
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
    anchors = next(iter(report["anchors_mb"].values()), {})
    for i, name in enumerate(names):
        if name in anchors:
            lo, hi = anchors[name]
            axes[2].plot([i - 0.4, i + 0.4], [lo, lo], "k--")
            if hi != lo:
                axes[2].plot([i - 0.4, i + 0.4], [hi, hi], "k--")
    axes[2].set_title("file size (MB); dashed: litert-community")
    fig.suptitle(f"{backend} architecture export on {report['machine']['cpu_count']} CPU cores")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def plot_memory(path: Path, goal_gib: float = 6.0) -> None:
    """Peak RSS (conversion alone, and the whole export with parity) and conversion seconds of the int4 ladder
    export per memory option, from ``export_gemma3_1b-*.json`` (a ``-trace`` JSON stands in for a run still going),
    with the goal line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs: dict[str, dict[str, Any]] = {}
    for result in sorted(RESULTS.glob("export_gemma3_1b-*.json")):
        report = json.loads(result.read_text())
        if "peak_rss_mib_summed" in report:  # a --trace file: its run's own JSON has the figures
            continue
        opts = report.get("settings")  # the bench's own JSON, not a manifest
        tag = result.stem.removeprefix("export_gemma3_1b-").removesuffix("-trace")
        label = tag.replace("-", "\n")
        if opts is None:  # an RSS trace: stands in for its run until that run's own JSON replaces it
            runs.setdefault(label, {"conversion": report["tmz_conversion_measure"]["peak_rss_mb"] / 1024,
                                    "whole": None, "seconds": report["tmz_conversion_measure"]["seconds"],
                                    "load": report["load_average_during"][0][0]})  # fmt: skip
            continue
        if opts["prefill_lengths"] != [32, 64, 128, 256, 512] or not opts["parity"]:
            continue
        for r in report["exports"]:
            if r["quantization"] == "int4" and r["status"] == "ok":
                own = r["export_own_measure"]
                # whole: the largest process (wait4), at least the conversion (which sums a child with its parent)
                whole = max(r["peak_rss_mib"], own["peak_rss_mb"]) / 1024  # both MiB
                runs[label] = {"conversion": own["peak_rss_mb"] / 1024, "whole": whole,
                               "seconds": own["seconds"], "load": report["machine"]["load_average"][0]}  # fmt: skip
    names = list(runs)
    x = range(len(names))
    fig, axes = plt.subplots(1, 2, figsize=(15, 4.5))
    axes[0].bar([i - 0.2 for i in x], [r["conversion"] for r in runs.values()], 0.4, label="conversion")
    axes[0].bar(
        [i + 0.2 for i in x], [r["whole"] or 0 for r in runs.values()], 0.4, label="whole run (parity on)"
    )
    for i, r in enumerate(runs.values()):
        if r["whole"] is None:
            axes[0].annotate("parity\nrunning", (i + 0.2, 0.3), ha="center", fontsize=8)
    axes[0].axhline(goal_gib, color="k", linestyle="--", label=f"goal {goal_gib:g} GiB")
    axes[0].set_xticks(list(x), names, fontsize=8)
    axes[0].set_title("peak RSS (GiB)")
    axes[0].legend(fontsize=8)
    axes[1].bar(names, [r["seconds"] for r in runs.values()], color="tab:blue")
    axes[1].tick_params(axis="x", labelsize=8)
    for i, r in enumerate(runs.values()):
        axes[1].annotate(f"load {r['load']:.1f}", (i, 20), ha="center", color="white", fontsize=8)
    axes[1].set_title("conversion seconds (shared CPU: inflated by load)")
    fig.suptitle("gemma-3-1b architecture, int4, prefill ladder: litert-torch options (v2: with tf-nightly)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def write_trace(path: Path, samples: list[dict], report: dict[str, Any]) -> dict[str, Any]:
    """Write the RSS ``samples`` of one export (its process and children) to ``path``; returns their summary:
    the summed peak, the largest single process's peak and the file name."""
    totals = [sum(s["rss_mib"].values()) for s in samples]
    largest = [max(s["rss_mib"].values(), default=0.0) for s in samples]
    summary = {
        "file": path.name,
        "samples": len(samples),
        "peak_rss_mib_summed": round(max(totals, default=0.0), 1),
        "peak_rss_mib_largest_process": round(max(largest, default=0.0), 1),
    }
    trace = {"benchmark": report["benchmark"], "command": report["command"], **summary, "samples": samples}
    write_text_atomic(path, json.dumps(trace) + "\n")
    return summary


def export_name(quantization: str, args: argparse.Namespace) -> str:
    """``export-<q>`` for this bench's default options (float32, v1: the directories runtime_vs_transformers.py
    reads), else with the options."""
    options = [o for o, default in ((args.model_dtype, "float32"), (args.converter, "v1")) if o != default]
    return "-".join(["export", quantization, *options])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", default="gemma3-1b-text", choices=sorted(BENCHED), help="model to build")
    parser.add_argument("--quantizations", default="int8,int4,fp32")
    parser.add_argument("--work", type=Path, help="default: work/bench-gemma3-1b (-270m for the 270M)")
    parser.add_argument(
        "--prefill", default=",".join(map(str, PREFILL_LENGTHS)), help="prefill signature lengths"
    )
    parser.add_argument("--tag", default="", help="suffix of the result files")
    parser.add_argument(
        "--parity", action="store_true", help="run the export's parity check (PyTorch vs LiteRT-LM)"
    )
    parser.add_argument(
        "--model-dtype",
        default="float32",
        choices=["float32", "bfloat16"],
        help="tmz-export's model_dtype (litert-torch loads and traces the model in it)",
    )
    parser.add_argument(
        "--converter",
        default="v1",
        choices=["v1", "v1-lightweight", "v2", "v2-streaming"],
        help="tmz-export's converter (litert-torch's lightweight conversion / Converter V2)",
    )
    parser.add_argument(
        "--trace",
        type=float,
        metavar="SECONDS",
        help="also sample the RSS of the export and each of its child processes this often "
        "(export_<model>-<tag>-<q>-trace.json)",
    )
    parser.add_argument(
        "--plot-memory",
        action="store_true",
        help="only redraw export_gemma3_1b-memory.png from the recorded results",
    )
    parser.add_argument("--only", help=argparse.SUPPRESS)  # child mode: run this one export in-process
    parser.add_argument(
        "--build", action="store_true", help=argparse.SUPPRESS
    )  # child mode: build the checkpoint
    args = parser.parse_args()
    stem = BENCHED[args.backend]
    args.work = args.work or Path("work") / f"bench-{stem.replace('_', '-')}"
    checkpoint = args.work / "checkpoint"
    prefill = [int(x) for x in args.prefill.split(",") if x.strip()]
    if args.plot_memory:
        plot_memory(RESULTS / "export_gemma3_1b-memory.png")
        return
    if args.build:
        print(json.dumps(build_checkpoint(checkpoint, args.backend)), flush=True)
        return
    if args.only:
        export_one(checkpoint, args.work / export_name(args.only, args), args.only, prefill, args.parity,
                   args.model_dtype, args.converter)  # fmt: skip
        return

    report: dict[str, Any] = {
        "benchmark": f"export_{stem}",
        "command": " ".join(["uv run python bench/export_gemma3_1b.py", *sys.argv[1:]]),
        "machine": machine(),
        "settings": {
            "backend": args.backend,
            "prefill_lengths": prefill,
            "kv_cache": KV_CACHE,
            "parity": args.parity,
            "model_dtype": args.model_dtype,
            "converter": args.converter,
            "config": get_registry().backend(args.backend).text_config,
        },  # fmt: skip
        "anchors_mb": {"litert-community Gemma3-1B-IT": ANCHORS_MB}
        if args.backend == "gemma3-1b-text"
        else {},
        "exports": [],
    }
    if not (checkpoint / "config.json").is_file():
        print(f"building the checkpoint in {checkpoint}", flush=True)
        report["checkpoint_build"] = run_measured(
            [sys.executable, __file__, "--backend", args.backend, "--work", str(args.work), "--build"]
        )
        if report["checkpoint_build"]["returncode"] != 0:
            raise SystemExit(f"building the checkpoint failed: {report['checkpoint_build']}")
    report["checkpoint"] = {
        "path": str(checkpoint),
        "bytes": sum(p.stat().st_size for p in checkpoint.iterdir() if p.is_file()),
    }
    name = f"export_{stem}-{args.tag}" if args.tag else f"export_{stem}"
    out_json = RESULTS / f"{name}.json"
    for q in [x.strip() for x in args.quantizations.split(",") if x.strip()]:
        print(f"exporting {q}", flush=True)
        child = [sys.executable, __file__, "--backend", args.backend, "--work", str(args.work), "--prefill", args.prefill, "--only", q,
                 "--model-dtype", args.model_dtype, "--converter", args.converter,
                 *(["--parity"] if args.parity else [])]  # fmt: skip
        load_before = os.getloadavg()
        result: dict[str, Any] = {"quantization": q, **run_measured(child, trace_every=args.trace)}
        result["load_average"] = {"before": load_before, "after": os.getloadavg()}
        if args.trace:
            result["trace"] = write_trace(RESULTS / f"{name}-{q}-trace.json", result.pop("trace"), report)
        if result["returncode"] == 0:
            result.update(status="ok", **sizes(args.work / export_name(q, args)))
        else:
            killed = result["returncode"] == -9
            result["status"] = "killed (SIGKILL: out of memory?)" if killed else "failed"
        report["exports"].append(result)
        report["machine"]["load_average"] = machine()["load_average"]
        write_text_atomic(out_json, json.dumps(report, indent=2) + "\n")
        print(json.dumps(result), flush=True)
    plot(report, RESULTS / f"{name}.png", args.backend)
    print(f"-> {out_json}")


if __name__ == "__main__":
    main()
