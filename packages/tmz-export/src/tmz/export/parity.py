"""Parity: greedy answers of the PyTorch checkpoint and of the exported model running in LiteRT-LM (CPU),
compared token by token.

LiteRT-LM's Python API (0.18) returns generated text only (no token ids; ``Engine.tokenize`` works on text). Both
answers are therefore compared as ids of one SentencePiece model: the checkpoint's ``tokenizer.model``, the very
file packed into the export. The PyTorch side's raw generated ids are decoded with it first (so byte-fallback
pieces decode the way LiteRT-LM's SentencePiece detokenizer decodes them), then both texts are encoded with it.
Two real token counts from the engine back this up: the prompt must have as many tokens on both sides
(same rendering, same BOS, same image tokens), and so must the answer (decode steps, stop token included).
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import litert_lm
import sentencepiece as spm
import torch
import transformers
from PIL import Image
from tqdm import tqdm

from tmz.core.plugins import get_registry
from tmz.core.registry import Registry
from tmz.export.checkpoint import Checkpoint
from tmz.export.llm import stop_token_ids
from tmz.export.prompts import ParityPrompt

ID_SOURCE = (
    "SentencePiece ids (checkpoint tokenizer.model) of each side's answer text: LiteRT-LM's Python API returns "
    "text only; PyTorch's raw ids are decoded with the same model first"
)


@dataclass(frozen=True)
class Answer:
    """One engine's greedy answer to a prompt (``generated_tokens``: decode steps, the stop token included)."""

    text: str
    prompt_tokens: int
    generated_tokens: int
    raw_ids: list[int] | None = None


class TorchEngine:
    """The checkpoint in transformers (float32, KV cache on, causal masks), generating greedily."""

    def __init__(self, ckpt: Checkpoint, sp: spm.SentencePieceProcessor, max_new_tokens: int) -> None:
        auto = getattr(transformers, ckpt.backend.auto_class)
        self.model = auto.from_pretrained(ckpt.path, dtype=torch.float32).eval()
        if getattr(self.model, "is_gradient_checkpointing", False):
            self.model.gradient_checkpointing_disable()
        self.model.config.use_cache = True
        self.processor = (
            transformers.AutoProcessor.from_pretrained(ckpt.path) if ckpt.backend.vision else None
        )
        self.tokenizer = transformers.AutoTokenizer.from_pretrained(ckpt.path)
        self.sp = sp
        self.stop = stop_token_ids(ckpt)
        self.max_new_tokens = max_new_tokens

    def __call__(self, registry: Registry, prompt: ParityPrompt, image: Image.Image | None) -> Answer:
        conv = prompt.messages(registry)
        if image is None:
            enc = self.tokenizer.apply_chat_template(
                conv, add_generation_prompt=True, tokenize=True, return_dict=True, return_tensors="pt"
            )
        else:
            text = self.processor.apply_chat_template(conv, add_generation_prompt=True, tokenize=False)
            enc = self.processor(text=text, images=[image], return_tensors="pt", add_special_tokens=False)
            enc.pop("token_type_ids", None)  # bidirectional image attention: the device's mask is causal
        n = enc["input_ids"].shape[1]
        with torch.inference_mode():
            out = self.model.generate(
                **enc, max_new_tokens=self.max_new_tokens, do_sample=False, eos_token_id=self.stop,
                pad_token_id=self.tokenizer.pad_token_id,
            )  # fmt: skip
        ids = out[0, n:].tolist()
        steps = len(ids)  # decode steps, the stop token included (as LiteRT-LM counts them)
        if ids and ids[-1] in self.stop:
            ids = ids[:-1]
        return Answer(self.sp.decode(ids), n, steps, ids)


class LiteRtEngine:
    """The exported ``.litertlm`` in LiteRT-LM on CPU, sampling greedily (top-k 1)."""

    def __init__(
        self, litertlm: Path, vision: bool, max_num_tokens: int, max_new_tokens: int, cache: Path
    ) -> None:
        extra: dict[str, Any] = {"cache_dir": str(cache)}  # else XNNPACK caches land beside the model
        if vision:
            extra |= {"max_num_images": 1, "vision_backend": litert_lm.Backend.CPU()}
        self.engine = litert_lm.Engine(
            str(litertlm), backend=litert_lm.Backend.CPU(), max_num_tokens=max_num_tokens, enable_benchmark=True,
            **extra,
        )  # fmt: skip
        self.max_new_tokens = max_new_tokens

    def __call__(self, registry: Registry, prompt: ParityPrompt, image: Path | None) -> Answer:
        conv = self.engine.create_conversation(
            sampler_config=litert_lm.SamplerConfig(top_k=1, temperature=0.0, seed=0),
            max_output_tokens=self.max_new_tokens,
        )
        text = prompt.instruction(registry)
        message: Any = text
        if image is not None:
            message = litert_lm.Contents.of(litert_lm.Content.ImageFile(str(image.resolve())), text)
        reply = conv.send_message(message)
        info = conv.get_benchmark_info()
        conv.close()
        return Answer(str(reply.contents), info.last_prefill_token_count, info.last_decode_token_count)


def divergence(sp: spm.SentencePieceProcessor, a: list[int], b: list[int]) -> dict[str, Any] | None:
    """Where two id sequences first differ (None when equal), with the piece of each side (None past its end)."""
    if a == b:
        return None
    pos = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))

    def token(ids: list[int]) -> dict[str, Any] | None:
        return {"id": ids[pos], "piece": sp.id_to_piece(ids[pos])} if pos < len(ids) else None

    return {"position": pos, "pytorch": token(a), "litert": token(b)}


def prepare_image(
    path: Path, size: tuple[int, int], resample: int, tmp: Path, index: int
) -> tuple[Image.Image, Path]:
    """The image both engines see: RGB at the model's input size (resized with the processor's filter), so the
    check compares models, not two resizers."""
    with Image.open(path) as im:
        image = im.convert("RGB")
    if image.size != size:
        image = image.resize(size, resample)
    out = tmp / f"{index}.png"
    image.save(out)
    return image, out


def run_parity(
    ckpt: Checkpoint,
    litertlm: Path,
    prompts: list[ParityPrompt],
    *,
    vision: bool,
    max_num_tokens: int,
    max_new_tokens: int,
    threshold: float,
    prompt_source: str,
) -> dict[str, Any]:
    """Run every prompt through both engines and build the parity report (docs/contracts.md, export)."""
    start = time.perf_counter()
    registry = get_registry()
    sp = spm.SentencePieceProcessor(model_file=str(ckpt.tokenizer_file))
    torch_engine = TorchEngine(ckpt, sp, max_new_tokens)
    cases = []
    with tempfile.TemporaryDirectory(prefix="tmz-parity-") as tmp:
        lite_engine = LiteRtEngine(litertlm, vision, max_num_tokens, max_new_tokens, Path(tmp))
        for i, prompt in enumerate(tqdm(prompts, desc="parity (PyTorch vs LiteRT-LM)", unit="prompt")):
            image = image_file = None
            if prompt.image is not None:
                proc = torch_engine.processor.image_processor
                size = (int(proc.size["width"]), int(proc.size["height"]))
                image, image_file = prepare_image(prompt.image, size, int(proc.resample), Path(tmp), i)
            pt = torch_engine(registry, prompt, image)
            lt = lite_engine(registry, prompt, image_file)
            pt_ids, lt_ids = sp.encode(pt.text), sp.encode(lt.text)
            div = divergence(sp, pt_ids, lt_ids)
            same_counts = (pt.prompt_tokens, pt.generated_tokens) == (lt.prompt_tokens, lt.generated_tokens)
            cases.append({
                "id": prompt.id, "kind": prompt.kind, "direction": prompt.direction(),
                "instruction": prompt.instruction(registry), "image": str(prompt.image) if prompt.image else None,
                "match": div is None and same_counts,
                "pytorch": {"text": pt.text, "ids": pt_ids, "raw_ids": pt.raw_ids},
                "litert": {"text": lt.text, "ids": lt_ids},
                "prompt_tokens": {"pytorch": pt.prompt_tokens, "litert": lt.prompt_tokens},
                "generated_tokens": {"pytorch": pt.generated_tokens, "litert": lt.generated_tokens},
                "divergence": div,
            })  # fmt: skip
        lite_engine.engine.close()
    matched = sum(c["match"] for c in cases)
    rate = matched / len(cases) if cases else 0.0
    first = next((c for c in cases if not c["match"]), None)
    return {
        "passed": bool(cases) and rate >= threshold,
        "match_rate": rate,
        "matched": matched,
        "prompts": len(cases),
        "threshold": threshold,
        "max_new_tokens": max_new_tokens,
        "prompt_source": prompt_source,
        "id_source": ID_SOURCE,
        "engine": {"litert_lm": version("litert-lm-api"), "backend": "cpu", "sampler": "greedy (top_k 1)"},
        "first_divergence": None
        if first is None
        else {
            "prompt": first["id"],
            "instruction": first["instruction"],
            "image": first["image"],
            "prompt_tokens": first["prompt_tokens"],
            **(first["divergence"] or {"position": None}),
        },  # fmt: skip
        "cases": cases,
        "seconds": round(time.perf_counter() - start, 2),
    }
