"""QLoRA training throughput and peak memory on the real Gemma 3 architectures (random weights, no download):
tmz's recipe against the seed guide's recipe as written, per model, in the same run and on the same data.

Data: translation-like rows (a ~40-token prompt and a ~20-token answer, lengths drawn +-25%) packed without
padding into sequences of 1024 random tokens; both recipes see the same sequences.

- ``guide`` (seed guide tables 3 and 4): NF4 + double quantization, bf16 compute, LoRA r16 / alpha 32 /
  dropout 0.05 on all linear layers, gradient checkpointing, paged AdamW 8-bit, sdpa, micro-batch 1, naive
  packing (positions run across rows) and loss on every token through full 262k-vocab logits.
- ``tmz``: the same quantization and LoRA, plus a larger micro-batch, padding-free packing (position_ids restart
  per row, so attention stays inside each row), loss only on answer tokens with logits computed only at those
  positions (Liger's fused linear cross-entropy when ``liger_kernel`` imports, else a chunked, checkpointed
  cross-entropy), Liger's Gemma 3 RMSNorm/GeGLU/RoPE kernels when available, fused AdamW, optional torch.compile.
- ``unsloth`` (``--unsloth``): Unsloth's FastLanguageModel on the tmz batches, if ``import unsloth`` works.

Without CUDA (``--smoke``) there is no bitsandbytes: both recipes run fp32 LoRA on a tiny model, labelled so.

    uv run python bench/train_qlora.py                      # CUDA machine with bitsandbytes (+ liger-kernel)
    uv run python bench/train_qlora.py --tmz-micro-batch 8 --compile --unsloth
    uv run python bench/train_qlora.py --smoke              # CPU, tiny sizes: proves the script runs

Tokens/s counts every token fed to the model (there is no padding); loss tokens/s only the labelled ones.
Results: bench/results/train_qlora_<device>.{json,png}; ratios are tmz / guide (goal: >= 1.6x tokens/s at
<= 0.6x peak memory), reported, never asserted.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
import transformers
from _machine import machine
from peft import LoraConfig, get_peft_model
from torch.utils.checkpoint import checkpoint
from tqdm.auto import tqdm
from transformers import Gemma3ForCausalLM, Gemma3TextConfig

RESULTS = Path(__file__).resolve().parent / "results"
PACKAGES = ("torch", "transformers", "peft", "trl", "bitsandbytes", "liger-kernel", "unsloth", "matplotlib")
COMMON = dict(head_dim=256, query_pre_attn_scalar=256, max_position_embeddings=32768,
              rope_parameters={"full_attention": {"rope_type": "default", "rope_theta": 1_000_000.0},
                               "sliding_attention": {"rope_type": "default", "rope_theta": 10_000.0}},
              tie_word_embeddings=True)  # fmt: skip
MODELS = {
    "gemma-3-1b": {**COMMON, "hidden_size": 1152, "intermediate_size": 6912, "num_hidden_layers": 26,
                   "num_attention_heads": 4, "num_key_value_heads": 1, "vocab_size": 262144, "sliding_window": 512},
    "gemma-3-4b-text": {**COMMON, "hidden_size": 2560, "intermediate_size": 10240, "num_hidden_layers": 34,
                        "num_attention_heads": 8, "num_key_value_heads": 4, "vocab_size": 262208,
                        "sliding_window": 1024},
    "tiny": {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 2,
             "num_key_value_heads": 1, "head_dim": 32, "vocab_size": 512, "sliding_window": 64},
}  # fmt: skip
LORA = dict(r=16, lora_alpha=32, lora_dropout=0.05, target_modules="all-linear", task_type="CAUSAL_LM")


def packed_batches(vocab: int, args: argparse.Namespace, n: int) -> list[dict[str, torch.Tensor]]:
    """``n`` batches of ``args.tmz_micro_batch`` packed sequences: input ids, per-row position ids, answer labels."""
    gen = torch.Generator().manual_seed(0)

    def length(mean: int) -> int:
        return int(torch.randint(max(1, mean * 3 // 4), mean * 5 // 4 + 1, (1,), generator=gen))

    batches = []
    for _ in range(n):
        ids, pos, labels = [], [], []
        for _ in range(args.tmz_micro_batch):
            i_row: list[int] = []
            p_row: list[int] = []
            l_row: list[int] = []
            while len(p_row) < args.seq_len:
                prompt, answer = length(args.prompt_tokens), length(args.answer_tokens)
                row_ids = torch.randint(0, vocab, (prompt + answer,), generator=gen).tolist()
                i_row += row_ids
                p_row += list(range(prompt + answer))
                l_row += [-100] * prompt + row_ids[prompt:]
            ids.append(torch.tensor(i_row[: args.seq_len]))
            pos.append(torch.tensor(p_row[: args.seq_len]))
            labels.append(torch.tensor(l_row[: args.seq_len]))
        batches.append(
            {"input_ids": torch.stack(ids), "position_ids": torch.stack(pos), "labels": torch.stack(labels)}
        )
    return batches


def load(name: str, quantize: bool, dtype: torch.dtype, workdir: Path) -> Gemma3ForCausalLM:
    """Random weights from the config, saved once and reloaded (4-bit NF4 + double quant when ``quantize``)."""
    path = workdir / name
    if not path.is_dir():
        torch.manual_seed(0)
        with torch.device("cpu"):
            Gemma3ForCausalLM(Gemma3TextConfig(**MODELS[name])).to(dtype).save_pretrained(path)
    kwargs: dict = {"dtype": dtype, "attn_implementation": "sdpa"}
    if quantize:
        kwargs["quantization_config"] = transformers.BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=dtype,
        )  # fmt: skip
        kwargs["device_map"] = {"": 0}
    model = Gemma3ForCausalLM.from_pretrained(path, **kwargs)
    if quantize:
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=False)
    model.config.use_cache = False
    return model


def liger_status() -> str:
    try:
        importlib.import_module("liger_kernel")
    except ImportError:
        return "unavailable (liger_kernel not installed)"
    return "available"


def answer_loss(
    hidden: torch.Tensor,
    labels: torch.Tensor,
    lm_head: torch.nn.Linear,
    softcap: float | None,
    args,
    liger: bool,
) -> torch.Tensor:
    """Mean cross-entropy over answer tokens, with logits only at those positions (never the full vocab x seq)."""
    target = labels[:, 1:]
    keep = target != -100
    h, t = hidden[:, :-1][keep], target[keep]
    if liger:
        from liger_kernel.transformers import LigerFusedLinearCrossEntropyLoss

        return LigerFusedLinearCrossEntropyLoss(softcap=softcap)(lm_head.weight, h, t)

    def chunk_ce(hc: torch.Tensor, tc: torch.Tensor) -> torch.Tensor:
        logits = lm_head(hc).float()
        if softcap is not None:
            logits = torch.tanh(logits / softcap) * softcap
        return F.cross_entropy(logits, tc, reduction="sum")

    total = sum(
        checkpoint(chunk_ce, h[i : i + args.ce_chunk], t[i : i + args.ce_chunk], use_reentrant=False)
        for i in range(0, len(t), args.ce_chunk)
    )
    return total / len(t)


def measure(recipe: str, name: str, batches: list[dict], args: argparse.Namespace, workdir: Path) -> dict:
    """Build the recipe's model and optimizer, train ``warmup + steps`` steps; throughput and peak memory."""
    cuda = args.device == "cuda"
    dtype = torch.bfloat16 if cuda else torch.float32
    recorded: dict = {
        "quantization": "nf4 + double quant, bf16 compute"
        if cuda
        else "none: fp32 LoRA (CPU smoke, no bitsandbytes)",
        "lora": {k: v for k, v in LORA.items() if k != "task_type"},
        "attention": "sdpa",
        "seq_len": args.seq_len,
    }
    liger = False
    if cuda:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    if recipe == "unsloth":
        from unsloth import FastLanguageModel

        model, _ = FastLanguageModel.from_pretrained(
            model_name=str(workdir / name), max_seq_length=args.seq_len, dtype=dtype, load_in_4bit=cuda
        )
        model = FastLanguageModel.get_peft_model(
            model, r=LORA["r"], lora_alpha=LORA["lora_alpha"], lora_dropout=0.0,
            target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
            use_gradient_checkpointing="unsloth",
        )  # fmt: skip
        recorded.update(lora_dropout_unsloth=0.0, grad_ckpt="unsloth", micro_batch=args.tmz_micro_batch)
    else:
        model = load(name, cuda, dtype, workdir)
        if recipe == "tmz" and cuda and args.liger:
            liger = liger_status() == "available"
            if liger:
                from liger_kernel.transformers import apply_liger_kernel_to_gemma3_text

                apply_liger_kernel_to_gemma3_text(
                    rope=True, cross_entropy=False, fused_linear_cross_entropy=False, rms_norm=True,
                    geglu=True, model=model,
                )  # fmt: skip
        model = get_peft_model(model, LoraConfig(**LORA))
        grad_ckpt = args.grad_ckpt if recipe == "guide" else args.tmz_grad_ckpt
        if grad_ckpt:
            model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
            model.enable_input_require_grads()
        recorded["grad_ckpt"] = grad_ckpt
    model.train()
    if not cuda:
        model.to(args.device)
    params = [p for p in model.parameters() if p.requires_grad]
    if recipe == "guide" and cuda:
        import bitsandbytes as bnb

        opt = bnb.optim.PagedAdamW8bit(params, lr=2e-4)
        recorded["optimizer"] = "bitsandbytes PagedAdamW8bit"
    else:
        fused = cuda and args.tmz_fused_adamw
        opt = torch.optim.AdamW(params, lr=2e-4, fused=fused or None)
        recorded["optimizer"] = f"torch AdamW{' (fused)' if fused else ''}"
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    inner = base.model
    if recipe == "tmz" and args.compile:
        inner = torch.compile(inner)
    softcap = base.config.final_logit_softcapping
    if recipe == "guide":
        recorded.update(
            micro_batch=1,
            gradient_accumulation=args.tmz_micro_batch,
            packing="naive (positions run across rows)",
            loss="all tokens, full logits",
        )
    elif recipe == "tmz":
        recorded.update(
            micro_batch=args.tmz_micro_batch,
            packing="padding-free (position_ids restart per row)",
            loss="answer tokens only; logits only there: "
            + ("Liger fused linear cross-entropy" if liger else f"chunked checkpointed CE, chunk {args.ce_chunk}"),
            liger="applied: rope, rms_norm, geglu, fused linear CE" if liger
            else "off (--no-liger)" if not args.liger
            else liger_status() if cuda
            else f"skipped on CPU (Triton kernels need CUDA); {liger_status()}",
            compile=args.compile,
        )  # fmt: skip
    timed, tokens, loss_tokens = 0.0, 0, 0
    for step, batch in enumerate(tqdm(batches[: args.warmup + args.steps], desc=f"{name} {recipe}")):
        if recipe == "guide":  # the same sequences, one per step, as the guide's TRL packing=True sees them
            seqs = [batch["input_ids"][i : i + 1].to(args.device) for i in range(len(batch["input_ids"]))]
        else:
            seqs = [None]
        if cuda:
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        for ids in seqs:
            if recipe == "guide":  # gradient accumulation over the micro-batches, as the guide's TRL config
                loss = model(input_ids=ids, labels=ids).loss / len(seqs)
            elif recipe == "unsloth":
                loss = model(**{k: v.to(args.device) for k, v in batch.items()}).loss
            else:
                hidden = inner(
                    input_ids=batch["input_ids"].to(args.device),
                    position_ids=batch["position_ids"].to(args.device),
                    use_cache=False,  # a cache disables transformers' packed-sequence masking
                ).last_hidden_state
                loss = answer_loss(
                    hidden, batch["labels"].to(args.device), base.lm_head, softcap, args, liger
                )
            loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        if cuda:
            torch.cuda.synchronize()
        if step >= args.warmup:
            timed += time.perf_counter() - t0
            tokens += batch["input_ids"].numel()
            loss_tokens += (
                batch["input_ids"].numel() if recipe == "guide" else int((batch["labels"] != -100).sum())
            )
    result = {
        "recipe": recipe,
        "model": name,
        "settings": recorded,
        "steps_timed": args.steps,
        "tokens_timed": tokens,
        "tokens_per_s": round(tokens / timed, 1),
        "loss_tokens_per_s": round(loss_tokens / timed, 1),
        "peak_gpu_memory_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2) if cuda else None,
        "peak_gpu_reserved_gib": round(torch.cuda.max_memory_reserved() / 2**30, 2) if cuda else None,
        "final_loss": round(float(loss.detach()) * len(seqs), 4),
        "trainable_params": sum(p.numel() for p in params),
    }
    del model, base, inner, opt, params
    gc.collect()
    return result


def plot(runs: list[dict], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    models = list(dict.fromkeys(r["model"] for r in runs))
    recipes = list(dict.fromkeys(r["recipe"] for r in runs))
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, key, label in (
        (axes[0], "tokens_per_s", "tokens/s"),
        (axes[1], "peak_gpu_memory_gib", "peak GPU GiB"),
    ):
        width = 0.8 / len(recipes)
        for j, recipe in enumerate(recipes):
            values = [
                next((r[key] or 0 for r in runs if r["model"] == m and r["recipe"] == recipe), 0)
                for m in models
            ]
            bars = ax.bar([i + j * width for i in range(len(models))], values, width, label=recipe)
            ax.bar_label(bars, fmt="%g", fontsize=7)
        ax.set_xticks([i + width * (len(recipes) - 1) / 2 for i in range(len(models))], models)
        ax.set_ylabel(label + ("" if any(r[key] for r in runs) else " (n/a on CPU)"))
        ax.legend()
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--model", action="append", choices=sorted(MODELS), help="repeatable; default 1b and 4b text"
    )
    p.add_argument("--seq-len", type=int, default=1024)
    p.add_argument("--steps", type=int, default=10, help="timed steps (each: tmz-micro-batch sequences)")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--grad-ckpt", action=argparse.BooleanOptionalAction, default=True, help="guide recipe")
    p.add_argument("--prompt-tokens", type=int, default=40, help="mean prompt length of a packed row")
    p.add_argument("--answer-tokens", type=int, default=20, help="mean answer length of a packed row")
    p.add_argument("--tmz-micro-batch", type=int, default=4)
    p.add_argument("--tmz-grad-ckpt", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--tmz-fused-adamw", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--liger", action=argparse.BooleanOptionalAction, default=True, help="tmz: if it imports")
    p.add_argument("--ce-chunk", type=int, default=1024, help="tmz without Liger: answer tokens per CE chunk")
    p.add_argument("--compile", action="store_true", help="tmz: torch.compile the decoder")
    p.add_argument("--unsloth", action="store_true", help="also measure Unsloth, if it imports")
    p.add_argument("--smoke", action="store_true", help="CPU, tiny model, seq 256, 2 steps")
    p.add_argument("--out", type=Path, help="results JSON (default bench/results/train_qlora_<device>.json)")
    args = p.parse_args()
    if args.smoke:
        args.model, args.seq_len, args.steps, args.warmup, args.device = ["tiny"], 256, 2, 1, "cpu"
    elif torch.cuda.is_available():
        args.device = "cuda"
    else:
        p.error("no CUDA device: this benchmark measures QLoRA on a GPU (use --smoke to check the script)")
    args.model = args.model or ["gemma-3-1b", "gemma-3-4b-text"]
    recipes = ["guide", "tmz"]
    unsloth = "not requested"
    if args.unsloth:
        try:
            importlib.import_module("unsloth")
            recipes.append("unsloth")
            unsloth = "measured"
        except ImportError as e:
            unsloth = f"not installed ({e})"
    runs: list[dict] = []
    ratios: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.model:
            batches = packed_batches(MODELS[name]["vocab_size"], args, args.warmup + args.steps)
            by = {}
            for recipe in recipes:
                try:
                    by[recipe] = measure(recipe, name, batches, args, Path(tmp))
                except (
                    Exception
                ) as e:  # a failing recipe (e.g. Unsloth on a random config) must not lose the rest
                    if recipe == "guide" or recipe == "tmz":
                        raise
                    by[recipe] = {"recipe": recipe, "model": name, "error": repr(e)[:500],
                                  "tokens_per_s": None, "peak_gpu_memory_gib": None}  # fmt: skip
                runs.append(by[recipe])
            g, t = by["guide"], by["tmz"]
            ratios[name] = {
                "tokens_per_s": round(t["tokens_per_s"] / g["tokens_per_s"], 2),
                "loss_tokens_per_s": round(t["loss_tokens_per_s"] / g["loss_tokens_per_s"], 2),
                "peak_gpu_memory": round(t["peak_gpu_memory_gib"] / g["peak_gpu_memory_gib"], 2)
                if args.device == "cuda"
                else None,
                "goal": ">= 1.6x tokens/s at <= 0.6x peak memory (reported, not asserted)",
            }
    device = "smoke_cpu" if args.smoke else "cuda"
    out = args.out or RESULTS / f"train_qlora_{device}.json"
    settings = {k: v for k, v in vars(args).items() if k not in ("out",)}
    record = {
        "benchmark": "train_qlora",
        "machine": machine(PACKAGES),
        "gpu": torch.cuda.get_device_name(0) if args.device == "cuda" else None,
        "command": "uv run python bench/train_qlora.py " + " ".join(sys.argv[1:]),
        "settings": settings,
        "unsloth": unsloth,
        "note": "CPU smoke: tiny model, 2 timed steps on a shared CPU; proves the script runs, timings mean nothing"
        if args.smoke
        else None,
        "data": f"rows of ~{args.prompt_tokens}-token prompt + ~{args.answer_tokens}-token answer (random ids, "
                f"+-25%) packed into {args.seq_len}-token sequences without padding; same sequences for every recipe",
        "ratios_tmz_over_guide": ratios,
        "runs": runs,
    }  # fmt: skip
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=2) + "\n")
    plot(runs, out.with_suffix(".png"), f"QLoRA guide vs tmz ({record['gpu'] or 'CPU smoke, fp32 LoRA'})")
    print(json.dumps({"ratios_tmz_over_guide": ratios, "unsloth": unsloth}, indent=2))


if __name__ == "__main__":
    main()
