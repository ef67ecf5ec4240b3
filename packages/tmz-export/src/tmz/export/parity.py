"""Parity: does the exported model, running in LiteRT-LM (CPU), answer as its PyTorch checkpoint does?

For every prompt both engines answer greedily. LiteRT-LM then scores PyTorch's answer token by token
(``Session.run_text_scoring``) and each token's log-probability is compared with PyTorch's teacher-forced one. Where
the greedy answers part, PyTorch's own margin between its token and LiteRT-LM's says whether that was a near-tie
(rounding may flip it) or a divergence. The verdict rules and the report are :mod:`tmz.core.parity`; the
tolerances are :mod:`tmz.export.tolerances`.

Four facts about LiteRT-LM 0.18.1 shape the code (measured; see docs/parity.md):

* Its Python API returns generated text, not ids: answers are compared as ids of one SentencePiece model, the
  checkpoint's ``tokenizer.model`` (the file packed into the export).
* ``run_text_scoring`` feeds the held-back last prompt token at the position of the token before it, so that token
  is lost from the context. The prompt is therefore prefilled with one sacrificial single-token piece inserted
  before its last token; the scores then equal the converted model's own log-probabilities (fp32 export: max
  |delta| 1.5e-5 against PyTorch over 1,129 tokens).
* Its text leaves out a final '▁' piece it generated (:func:`held_back`): such a tail counts as its answer only
  where its own scores prove greedy decoding chose it.
* It reads text as a C string: ``tokenize`` and ``run_text_scoring`` stop at a NUL, so an answer holding one (a
  byte-fallback ``<0x00>`` piece) is compared whole but tokenized and scored up to it.
"""

from __future__ import annotations

import gc
import math
import os
import tempfile
import time
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

import litert_lm
import numpy as np
import sentencepiece as spm
import torch
import transformers
from PIL import Image
from tqdm import tqdm

from tmz.core.chat_format import GEMMA3, ChatFormat
from tmz.core.parity import FailureKind, ParityReport, Parting, PromptParity, TokenChoice
from tmz.core.plugins import get_registry
from tmz.core.registry import Registry
from tmz.export.checkpoint import Checkpoint
from tmz.export.errors import ParityError
from tmz.export.llm import stop_token_ids
from tmz.export.prompts import ParityPrompt
from tmz.export.tolerances import Tolerance

#: Single-token pieces tried, in order, after the chat format's turn terminator, as the token
#: ``run_text_scoring`` drops (see the module docstring).
SACRIFICIAL = ("<pad>", "\n")


@dataclass(frozen=True)
class TorchAnswer:
    """PyTorch's greedy answer and the prompt it answered."""

    prompt_ids: list[int]
    prompt_text: str
    ids: list[int]
    text: str
    steps: int
    inputs: dict[str, torch.Tensor]
    untokenizable: list[int] = field(default_factory=list)  # ids past the SentencePiece model, in order


@dataclass(frozen=True)
class LiteRtAnswer:
    """LiteRT-LM's greedy answer (text only) and its engine-side token counts."""

    text: str
    prompt_tokens: int
    steps: int


class TorchEngine:
    """The checkpoint in transformers (float32, KV cache on, causal masks)."""

    def __init__(
        self, ckpt: Checkpoint, sp: spm.SentencePieceProcessor, max_new_tokens: int, max_num_tokens: int
    ) -> None:
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
        self.max_num_tokens = max_num_tokens

    def answer(self, registry: Registry, prompt: ParityPrompt, image: Image.Image | None) -> TorchAnswer:
        conv = prompt.messages(registry)
        if image is None:  # rendered once; its ids are what apply_chat_template(tokenize=True) gives
            text = self.tokenizer.apply_chat_template(conv, add_generation_prompt=True, tokenize=False)
            enc = self.tokenizer(text, add_special_tokens=False, return_tensors="pt")
        else:
            text = self.processor.apply_chat_template(conv, add_generation_prompt=True, tokenize=False)
            enc = self.processor(text=text, images=[image], return_tensors="pt", add_special_tokens=False)
            enc.pop("token_type_ids", None)  # bidirectional image attention: the device's mask is causal
        inputs = dict(enc)
        n = inputs["input_ids"].shape[1]
        # LiteRT-LM's prompt and answer share its KV cache (prefill + decode <= max_num_tokens): PyTorch answers
        # within the same room, so a long prompt compares the answer the bundle can give.
        room = self.max_num_tokens - n
        if room < 1:
            raise ParityError(
                f"parity prompt {prompt.id!r} takes {n} tokens, the whole KV cache of {self.max_num_tokens}; "
                "export with a larger kv_cache (--kv-cache) or choose shorter parity prompts"
            )
        with torch.inference_mode():
            out = self.model.generate(
                **inputs, max_new_tokens=min(self.max_new_tokens, room), do_sample=False, eos_token_id=self.stop,
                pad_token_id=self.tokenizer.pad_token_id,
            )  # fmt: skip
        ids = out[0, n:].tolist()
        steps = len(ids)  # decode steps, the stop token included (as LiteRT-LM counts them)
        if ids and ids[-1] in self.stop:
            ids = ids[:-1]
        bos = self.tokenizer.bos_token or ""
        ids, untokenizable = split_untokenizable(ids, self.sp.get_piece_size())
        return TorchAnswer(inputs["input_ids"][0].tolist(), text.removeprefix(bos), ids, self.sp.decode(ids),
                           steps, inputs, untokenizable)  # fmt: skip

    def logprobs(self, answer: TorchAnswer, ids: list[int]) -> torch.Tensor:
        """Teacher-forced log-softmax rows after the prompt: row k is the distribution of answer token k, for
        k = 0 .. len(ids) (the last row: what follows the whole answer)."""
        inputs = dict(answer.inputs)
        prompt = inputs.pop("input_ids")
        full = torch.cat([prompt, torch.tensor([ids], dtype=prompt.dtype)], dim=1)
        inputs.pop("attention_mask", None)
        with torch.inference_mode():  # the LM head only on the positions after the prompt
            logits = self.model(input_ids=full, logits_to_keep=len(ids) + 1, **inputs).logits[0].float()
        return torch.log_softmax(logits, dim=-1)

    def stop_logprob(self, row: torch.Tensor) -> float:
        """Log-probability of ending the answer here (any stop token)."""
        return float(torch.logsumexp(row[self.stop], dim=0))


class LiteRtEngine:
    """The exported ``.litertlm`` in LiteRT-LM on CPU: greedy answers (top-k 1) and token scores."""

    def __init__(
        self,
        litertlm: Path,
        vision: bool,
        max_num_tokens: int,
        max_new_tokens: int,
        cache: Path,
        chat: ChatFormat = GEMMA3,
    ) -> None:
        extra: dict[str, Any] = {"cache_dir": str(cache)}  # else XNNPACK caches land beside the model
        if vision:
            extra |= {"max_num_images": 1, "vision_backend": litert_lm.Backend.CPU()}
        self.engine = litert_lm.Engine(
            str(litertlm), backend=litert_lm.Backend.CPU(), max_num_tokens=max_num_tokens, enable_benchmark=True,
            **extra,
        )  # fmt: skip
        self.max_new_tokens = max_new_tokens
        self.sacrificial = (chat.turn_end, *SACRIFICIAL)

    def answer(self, registry: Registry, prompt: ParityPrompt, image: Path | None,
               max_new_tokens: int | None = None) -> LiteRtAnswer:  # fmt: skip
        conv = self.engine.create_conversation(
            sampler_config=litert_lm.SamplerConfig(top_k=1, temperature=0.0, seed=0),
            max_output_tokens=max_new_tokens or self.max_new_tokens,
        )
        text = prompt.instruction(registry)
        message: Any = text
        if image is not None:
            message = litert_lm.Contents.of(litert_lm.Content.ImageFile(str(image.resolve())), text)
        try:
            reply = conv.send_message(message)
        except RuntimeError as e:  # its cause is in LiteRT-LM's log above (e.g. an id past the tokenizer)
            raise ParityError(
                f"LiteRT-LM could not answer parity prompt {prompt.id!r} ({e}); its log above says why"
            ) from e
        info = conv.get_benchmark_info()
        conv.close()
        return LiteRtAnswer(str(reply.contents), info.last_prefill_token_count, info.last_decode_token_count)

    def tokenize(self, text: str) -> list[int]:
        return list(self.engine.tokenize(text))

    def score(self, prompt_text: str, target: str) -> list[float] | None:
        """Per-token log-probabilities of ``target`` after the rendered ``prompt_text`` (no BOS); None when no
        sacrificial piece keeps the prompt's tokens intact."""
        if not target:
            return []
        ids = self.tokenize(prompt_text)
        last = self.engine.detokenize(ids[-1:])
        if not ids or not prompt_text.endswith(last):
            return None
        head = prompt_text[: len(prompt_text) - len(last)]
        for piece in self.sacrificial:
            extra = self.tokenize(piece)
            fixed = head + piece + last
            if len(extra) == 1 and self.tokenize(fixed) == ids[:-1] + extra + ids[-1:]:
                session = self.engine.create_session(apply_prompt_template=False)
                session.run_prefill([fixed])
                try:
                    scores = session.run_text_scoring([target]).token_scores[0]
                except RuntimeError as e:  # the session is left open: closing it aborts the process
                    raise ParityError(
                        f"LiteRT-LM {version('litert-lm-api')} could not score an answer ({e}; its log above says "
                        "why, e.g. 'Unsupported attention mask data type' for Gemma 3n's fp32 export): parity cannot "
                        "be checked on this export; try another quantization (e.g. int8)"
                    ) from e
                session.close()
                return [float(x) for x in scores]
        return None


class VisionCheck:
    """The exported vision encoder (its ``.tflite``, in the TFLite interpreter) against PyTorch's vision tower.

    LiteRT-LM 0.18.1 cannot score an answer after an image (its ``Session`` takes only preprocessed images, which
    the Python API cannot make), and a model sure of its answer gives it with or without the right pixel
    normalisation. So image prompts also compare the encoder's features: the export fed RGB in [0, 1] as LiteRT-LM
    feeds it, PyTorch fed the processor's pixels, as in training; the error is max |difference| relative to the
    largest PyTorch feature.
    """

    def __init__(self, encoder_file: Path, torch_engine: TorchEngine) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self.encoder = Interpreter(model_path=str(encoder_file)).get_signature_runner()
        self.tower = torch_engine.model.model.vision_tower
        self.processor = torch_engine.processor.image_processor

    def error(self, image: Image.Image) -> float:
        pixels = np.asarray(image, dtype=np.float32)[None] / 255.0  # NHWC in [0, 1], as LiteRT-LM feeds it
        exported = next(iter(self.encoder(images=pixels).values()))[0]
        with torch.inference_mode():
            trained = self.tower(pixel_values=self.processor(images=image, return_tensors="pt").pixel_values)
        reference = trained.last_hidden_state[0].float().numpy()
        return float(np.abs(exported.reshape(reference.shape) - reference).max() / np.abs(reference).max())


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


def spilled(rows: torch.Tensor, directory: Path) -> torch.Tensor:
    """``rows`` written to a new file in ``directory`` and read back memory-mapped. A prompt's rows hold one
    vocabulary-wide row per answer token (1 MiB each at Gemma's 262,144 pieces, and a re-encoded answer can run to
    hundreds of tokens); mapped, they cost memory only for the pages the comparison reads."""
    fd, name = tempfile.mkstemp(dir=directory, prefix="rows-", suffix=".pt")
    os.close(fd)
    torch.save(rows, name)
    return torch.load(name, mmap=True, weights_only=True)


def split_untokenizable(ids: list[int], pieces: int) -> tuple[list[int], list[int]]:
    """``ids`` up to the first id the SentencePiece model (``pieces`` ids) has no piece for, and the ids past it
    that have none. A model's vocabulary can outgrow its tokenizer (Gemma 3n: 262,400 ids, 262,144 pieces; the
    rest are image and audio soft tokens): such an id carries no text, so an answer is compared up to it."""
    cut = next((i for i, t in enumerate(ids) if not 0 <= t < pieces), len(ids))
    return ids[:cut], [t for t in ids[cut:] if not 0 <= t < pieces]


def held_back(
    pt: TorchAnswer, lt: LiteRtAnswer, pt_ids: list[int], lt_ids: list[int], lt_lp: list[float] | None
) -> list[int]:
    """The tail of PyTorch's answer that LiteRT-LM generated but left out of its text ([] when none is shown).

    LiteRT-LM 0.18.1 streams its answer and holds back a trailing '▁' piece, which it does not flush when the
    answer ends (measured on the tiny Gemma 4 export: 5 decode steps of '▁' give 4 spaces; ``detokenize`` gives 5).
    Its ids, which its Python API does not return, are then PyTorch's when it took as many decode steps, its text
    is PyTorch's less trailing whitespace, and its own score of each missing token is above log 1/2: no other token
    can be more likely, so greedy decoding chose it (each after the ones before, which it scored in context).
    """
    n = len(lt_ids)
    rest = pt.text[len(lt.text) :]
    if (
        lt_lp is None or len(lt_lp) != len(pt_ids) or pt.steps != lt.steps or n >= len(pt_ids)
        or pt_ids[:n] != lt_ids or not pt.text.startswith(lt.text) or not rest.isspace()
        or any(lp <= math.log(0.5) for lp in lt_lp[n:])
    ):  # fmt: skip
        return []
    return pt_ids[n:]


def first_difference(a: list[int], b: list[int]) -> int | None:
    """The first index where two id sequences differ (the shorter one's length when one extends the other)."""
    if a == b:
        return None
    return next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))


@dataclass(frozen=True)
class Reference:
    """PyTorch's side of one prompt, measured before LiteRT-LM runs (so the two models are never both loaded):
    its answer and ids, the teacher-forced rows after the prompt, each row's log-probability of stopping, and the
    vision encoder's error on an image prompt."""

    answer: TorchAnswer
    ids: list[int]
    rows: torch.Tensor
    stop_logprobs: list[float]
    vision_error: float | None

    @property
    def logprobs(self) -> list[float]:
        return [float(self.rows[i, t]) for i, t in enumerate(self.ids)]


@dataclass
class Comparison:
    """Everything measured for one prompt, before the verdict: :meth:`reference` needs only ``torch_engine`` (and
    ``vision``), :meth:`compare` only ``lite_engine``."""

    torch_engine: TorchEngine | None
    lite_engine: LiteRtEngine | None
    sp: spm.SentencePieceProcessor
    tolerance: Tolerance
    vision: VisionCheck | None = None
    spill: Path | None = None  #: where each reference's rows are kept, memory-mapped (None: in memory)

    def reference(self, registry: Registry, prompt: ParityPrompt, image: Image.Image | None) -> Reference:
        engine = self.torch_engine
        pt = engine.answer(registry, prompt, image)
        pt_ids = self.sp.encode(pt.text)
        rows = engine.logprobs(pt, pt_ids)
        stops = [engine.stop_logprob(row) for row in rows]
        vision_error = self.vision.error(image) if image is not None and self.vision is not None else None
        return Reference(
            pt, pt_ids, rows if self.spill is None else spilled(rows, self.spill), stops, vision_error
        )

    def compare(self, registry: Registry, prompt: ParityPrompt, ref: Reference,
                image_file: Path | None) -> PromptParity:  # fmt: skip
        pt, pt_ids, vision_error = ref.answer, ref.ids, ref.vision_error
        image = prompt.image
        # LiteRT-LM 0.18.1 fails a whole answer on an id its tokenizer has no piece for ("Token id ... is out of
        # range"), so a PyTorch answer with one is compared only up to it, which LiteRT-LM must then reproduce.
        cap = len(pt.ids) if pt.untokenizable else None
        lt = self.lite_engine.answer(registry, prompt, image_file, cap) if cap != 0 else LiteRtAnswer(
            "", len(pt.prompt_ids), 0)  # fmt: skip
        lt_ids = self.sp.encode(lt.text)
        counts_equal = (len(pt.prompt_ids), pt.steps) == (lt.prompt_tokens, lt.steps)
        failure: FailureKind | None = None
        # LiteRT-LM tokenizes the checkpoint's rendering here; its own rendering gave lt.prompt_tokens.
        if image is None:
            lite_prompt = self.lite_engine.tokenize(pt.prompt_text)
            if lt.prompt_tokens != len(lite_prompt) + 1:  # + BOS
                failure = "chat_template"
            elif lite_prompt != pt.prompt_ids[1:]:
                failure = "tokenizer"
        elif len(pt.prompt_ids) != lt.prompt_tokens:
            failure = "chat_template"
        # LiteRT-LM 0.18.1 reads text as a C string (tokenize stops at a NUL, measured on Gemma 3n's tiny export):
        # an answer holding one (a byte-fallback <0x00> piece) is checked and scored up to it
        text = pt.text.split("\0", 1)[0]
        scored = pt_ids if text == pt.text else self.sp.encode(text)
        if failure is None and (scored != pt_ids[: len(scored)] or self.lite_engine.tokenize(text) != scored):
            failure = "tokenizer"
        if failure is None and vision_error is not None and vision_error > self.tolerance.vision_encoder:
            failure = "vision_encoder"
        pt_lp = ref.logprobs
        lt_lp = None if image is not None or failure else self.lite_engine.score(pt.prompt_text, text)
        deltas = [abs(a - b) for a, b in zip(pt_lp, lt_lp or [], strict=False)]
        if lt_lp is not None and len(lt_lp) != len(scored) and failure is None:
            failure = "tokenizer"
        held = held_back(pt, lt, pt_ids, lt_ids, lt_lp) if failure is None else []
        parting = self._parting(ref, lt, lt_ids + held, pt_lp, lt_lp)
        max_d = max(deltas, default=0.0)
        if failure is None and (pt.untokenizable or (parting is not None and not parting.tie)):
            failure = "divergence"
        mean_d = sum(deltas) / len(deltas) if deltas else 0.0
        if failure is None and (
            max_d > self.tolerance.max_abs_delta or mean_d > self.tolerance.mean_abs_delta
        ):
            failure = "logprob"
        exact = parting is None and counts_equal
        return PromptParity(
            id=prompt.id, kind=prompt.kind, direction=prompt.direction(), instruction=prompt.instruction(registry),
            image=str(prompt.image) if prompt.image else None,
            verdict="fail" if failure else ("match" if exact else "tie"), failure=failure, exact=exact,
            prompt_tokens={"pytorch": len(pt.prompt_ids), "litert": lt.prompt_tokens},
            generated_tokens={"pytorch": pt.steps, "litert": lt.steps},
            pytorch_text=pt.text, litert_text=lt.text, pytorch_ids=pt_ids, litert_ids=lt_ids,
            scored_ids=scored if lt_lp is not None else [], pytorch_logprobs=[round(x, 6) for x in pt_lp],
            litert_logprobs=[round(x, 6) for x in lt_lp or []], max_abs_delta=round(max_d, 6),
            mean_abs_delta=round(mean_d, 6), parting=parting,
            vision_encoder_error=None if vision_error is None else round(vision_error, 6),
            pytorch_untokenizable_ids=pt.untokenizable, litert_held_back_ids=held,
        )  # fmt: skip

    def _parting(self, ref: Reference, lt: LiteRtAnswer, lt_ids: list[int], pt_lp: list[float],
                 lt_lp: list[float] | None) -> Parting | None:  # fmt: skip
        pt, pt_ids = ref.answer, ref.ids
        k = first_difference(pt_ids, lt_ids)
        if k is None:
            return None
        mine = pt_lp[k] if k < len(pt_ids) else ref.stop_logprobs[k]
        theirs = float(ref.rows[k, lt_ids[k]]) if k < len(lt_ids) else ref.stop_logprobs[k]
        lite_theirs = None
        if k < len(lt_ids) and lt_lp is not None:
            own = self.lite_engine.score(pt.prompt_text, lt.text)
            lite_theirs = own[k] if own is not None and len(own) > k else None
        margin = mine - theirs
        return Parting(
            position=k,
            pytorch=None if k >= len(pt_ids) else TokenChoice(
                id=pt_ids[k], piece=self.sp.id_to_piece(pt_ids[k]), pytorch_logprob=round(mine, 6),
                litert_logprob=None if lt_lp is None or k >= len(lt_lp) else round(lt_lp[k], 6)),
            litert=None if k >= len(lt_ids) else TokenChoice(
                id=lt_ids[k], piece=self.sp.id_to_piece(lt_ids[k]), pytorch_logprob=round(theirs, 6),
                litert_logprob=None if lite_theirs is None else round(lite_theirs, 6)),
            pytorch_margin=round(margin, 6), tie=margin <= self.tolerance.tie_margin,
        )  # fmt: skip


def run_parity(
    ckpt: Checkpoint,
    litertlm: Path,
    prompts: list[ParityPrompt],
    *,
    vision: bool,
    max_num_tokens: int,
    max_new_tokens: int,
    tolerance: Tolerance,
    prompt_source: str,
    vision_encoder: Path | None = None,
) -> ParityReport:
    """Run every prompt through both engines and build the parity report (``vision_encoder``: the export's
    encoder ``.tflite``, checked on image prompts)."""
    start = time.perf_counter()
    registry = get_registry()
    sp = spm.SentencePieceProcessor(model_file=str(ckpt.tokenizer_file))
    with tempfile.TemporaryDirectory(prefix="tmz-parity-") as tmp:
        # PyTorch first, then LiteRT-LM: the checkpoint (float32) is freed before the engine loads
        torch_engine = TorchEngine(ckpt, sp, max_new_tokens, max_num_tokens)
        check = VisionCheck(vision_encoder, torch_engine) if vision and vision_encoder is not None else None
        compare = Comparison(torch_engine, None, sp, tolerance, check, spill=Path(tmp))
        image_files: list[Path | None] = []
        references: list[Reference] = []
        for i, prompt in enumerate(tqdm(prompts, desc="parity: PyTorch answers", unit="prompt")):
            image = image_file = None
            if prompt.image is not None:
                proc = torch_engine.processor.image_processor
                size = (int(proc.size["width"]), int(proc.size["height"]))
                image, image_file = prepare_image(prompt.image, size, int(proc.resample), Path(tmp), i)
            image_files.append(image_file)
            references.append(compare.reference(registry, prompt, image))
        del torch_engine, check
        compare.torch_engine = compare.vision = None
        gc.collect()
        compare.lite_engine = LiteRtEngine(
            litertlm, vision, max_num_tokens, max_new_tokens, Path(tmp), ckpt.backend.chat_format
        )
        cases = [
            compare.compare(registry, prompt, ref, image_file)
            for prompt, ref, image_file in tqdm(
                list(zip(prompts, references, image_files, strict=True)),
                desc="parity: LiteRT-LM answers", unit="prompt",
            )
        ]  # fmt: skip
        compare.lite_engine.engine.close()
    return summarise(
        cases, tolerance, max_new_tokens, prompt_source, str(ckpt.path), time.perf_counter() - start
    )


def summarise(cases: list[PromptParity], tolerance: Tolerance, max_new_tokens: int, prompt_source: str,
              reference: str, seconds: float) -> ParityReport:  # fmt: skip
    """The report over all prompts: counts per verdict and failure kind, the |delta log p| figures, and the pass
    rule (no failed prompt, and the mean |delta| over every scored token within tolerance)."""
    deltas = [abs(a - b) for c in cases for a, b in zip(c.pytorch_logprobs, c.litert_logprobs, strict=False)]
    mean = sum(deltas) / len(deltas) if deltas else 0.0
    failures = [c for c in cases if c.failure is not None]
    return ParityReport(
        passed=bool(cases) and not failures and mean <= tolerance.mean_abs_delta,
        prompts=len(cases), exact=sum(c.exact for c in cases), ties=sum(c.verdict == "tie" for c in cases),
        divergences=sum(c.failure == "divergence" for c in cases),
        logprob_failures=sum(c.failure == "logprob" for c in cases),
        prompt_failures=sum(c.failure in ("chat_template", "tokenizer") for c in cases),
        vision_failures=sum(c.failure == "vision_encoder" for c in cases),
        max_abs_delta=round(max(deltas, default=0.0), 6), mean_abs_delta=round(mean, 6),
        tie_margin=tolerance.tie_margin, logprob_tolerance=tolerance.max_abs_delta,
        mean_tolerance=tolerance.mean_abs_delta, vision_tolerance=tolerance.vision_encoder,
        tolerance_source=tolerance.source,
        max_new_tokens=max_new_tokens, prompt_source=prompt_source,
        engine={"litert_lm": version("litert-lm-api"), "backend": "cpu", "sampler": "greedy (top_k 1)"},
        reference=reference,
        first_failure=failures[0] if failures else None, cases=cases, seconds=round(seconds, 2),
    )  # fmt: skip
