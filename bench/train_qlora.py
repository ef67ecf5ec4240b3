"""QLoRA training throughput and peak memory on the real Gemma 3 architectures, with random weights (no download).

The recipe is tmz-train's CUDA defaults (seed guide tables 3 and 4): NF4 + double quantization, bf16 compute,
LoRA r16 / alpha 32 / dropout 0.05 on all linear layers, gradient checkpointing, paged AdamW 8-bit, sdpa
attention, sequences of 1024 random tokens. Configurations come from FINDINGS.md.

    uv run python bench/train_qlora.py                      # on a CUDA machine (needs bitsandbytes)
    uv run python bench/train_qlora.py --micro-batch 8 --no-grad-ckpt
    uv run python bench/train_qlora.py --smoke              # CPU, tiny sizes: proves the script runs

Results go to bench/results/train_qlora_<device>.json (one entry per model and setting).
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import torch
import transformers
from peft import LoraConfig, get_peft_model
from tqdm.auto import tqdm
from transformers import Gemma3ForCausalLM, Gemma3TextConfig

RESULTS = Path(__file__).resolve().parent / "results"
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


def build(name: str, quantize: bool, dtype: torch.dtype, workdir: Path) -> torch.nn.Module:
    """Random weights from the config, saved and reloaded (4-bit NF4 when ``quantize``), LoRA applied."""
    config = Gemma3TextConfig(**MODELS[name])
    torch.manual_seed(0)
    path = workdir / name
    with torch.device("cpu"):
        Gemma3ForCausalLM(config).to(dtype).save_pretrained(path)
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
    lora = LoraConfig(
        r=16, lora_alpha=32, lora_dropout=0.05, target_modules="all-linear", task_type="CAUSAL_LM"
    )
    return get_peft_model(model, lora)


def measure(name: str, args: argparse.Namespace, device: str, workdir: Path) -> dict:
    quantize = device == "cuda"
    dtype = torch.bfloat16 if quantize else torch.float32
    model = build(name, quantize, dtype, workdir)
    if args.grad_ckpt:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model.enable_input_require_grads()
    model.config.use_cache = False
    model.to(device).train()
    params = [p for p in model.parameters() if p.requires_grad]
    if quantize:
        import bitsandbytes as bnb

        opt = bnb.optim.PagedAdamW8bit(params, lr=2e-4)
    else:
        opt = torch.optim.AdamW(params, lr=2e-4)
    vocab = MODELS[name]["vocab_size"]
    gen = torch.Generator().manual_seed(0)
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    timed = 0.0
    for step in tqdm(range(args.warmup + args.steps), desc=name):
        ids = torch.randint(0, vocab, (args.micro_batch, args.seq_len), generator=gen).to(device)
        if device == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        if device == "cuda":
            torch.cuda.synchronize()
        if step >= args.warmup:
            timed += time.perf_counter() - t0
    tokens = args.steps * args.micro_batch * args.seq_len
    return {
        "model": name,
        "micro_batch": args.micro_batch,
        "seq_len": args.seq_len,
        "grad_ckpt": args.grad_ckpt,
        "quantization": "nf4-double" if quantize else "none (fp32 LoRA)",
        "steps_timed": args.steps,
        "tokens_per_s": round(tokens / timed, 1),
        "peak_gpu_memory_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2)
        if device == "cuda"
        else None,
        "final_loss": round(float(loss.detach()), 4),
        "trainable_params": sum(p.numel() for p in params),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--model", action="append", choices=sorted(MODELS), help="repeatable; default 1b and 4b text"
    )
    p.add_argument("--seq-len", type=int, default=1024)
    p.add_argument("--micro-batch", type=int, default=1)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--grad-ckpt", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--smoke", action="store_true", help="CPU, tiny model, seq 64, 3 steps")
    p.add_argument("--out", type=Path, help="results JSON (default bench/results/train_qlora_<device>.json)")
    args = p.parse_args()
    if args.smoke:
        args.model, args.seq_len, args.steps, args.warmup = ["tiny"], 64, 3, 1
        device = "cpu"
    else:
        if not torch.cuda.is_available():
            p.error(
                "no CUDA device: this benchmark measures QLoRA on a GPU (use --smoke to check the script)"
            )
        device = "cuda"
    args.model = args.model or ["gemma-3-1b", "gemma-3-4b-text"]
    with tempfile.TemporaryDirectory() as tmp:
        runs = [measure(name, args, device, Path(tmp)) for name in args.model]
    out = args.out or RESULTS / f"train_qlora_{'smoke_cpu' if args.smoke else 'cuda'}.json"
    record = {
        "benchmark": "train_qlora",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "device": torch.cuda.get_device_name(0) if device == "cuda" else platform.processor() or "cpu",
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "command": "python bench/train_qlora.py " + " ".join(
            f"--model {m}" for m in args.model) + (" --smoke" if args.smoke else
            f" --seq-len {args.seq_len} --micro-batch {args.micro_batch}"
            f"{'' if args.grad_ckpt else ' --no-grad-ckpt'}"),
        "runs": runs,
    }  # fmt: skip
    out.parent.mkdir(parents=True, exist_ok=True)
    previous = json.loads(out.read_text()) if out.is_file() else []
    out.write_text(
        json.dumps([*previous, record] if isinstance(previous, list) else [record], indent=2) + "\n"
    )
    print(json.dumps(runs, indent=2))


if __name__ == "__main__":
    main()
