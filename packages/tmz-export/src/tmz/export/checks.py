"""Checks run before converting: each catches a mistake that would otherwise silently break the model on device
(see FINDINGS.md, "Traps"), and raises its own named error."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sentencepiece as spm
from transformers import AutoImageProcessor, AutoTokenizer, PreTrainedTokenizerBase

from tmz.core.kinds.base import ImageNormalisation
from tmz.core.plugins import get_registry
from tmz.core.prompt import PROMPT_FORMAT_ID, Side, chat_prompt, instruction, messages
from tmz.core.registry import Registry
from tmz.export.checkpoint import TOKENIZER_FILE, Checkpoint
from tmz.export.errors import ChatTemplateError, TokenizerError, VisionNormalisationError, VocabularyError

#: Text the tokenizers must agree on beyond the prompts: scripts, digits, runs of spaces, tabs and newlines.
SAMPLE_TEXTS = (
    "Where is the nearest hospital? Call 112 now!",
    "ⴰⵣⵓⵍ ⴼⵍⵍⴰⵡⵏ, ⵎⴰⵏⵣⴰ ⴽⵉⵏ?",
    "azul fellawen, manza kin? ɣ ḍ ṛ ṭ ẓ ɛ",
    "Où est la gare ? J'ai 3 valises.",
    "أين المستشفى؟ ١٢٣",
    "  two  spaces,\ttab and\nnew line\n\n",
)


@dataclass
class Tokenizers:
    """The checkpoint's Hugging Face tokenizer and the SentencePiece model LiteRT-LM will run."""

    hf: PreTrainedTokenizerBase
    sp: spm.SentencePieceProcessor


def sample_directions(registry: Registry) -> list[tuple[Side, Side]]:
    """A few registered directions (each Tamazight script both ways) to render sample prompts with."""
    out = []
    for d in registry.directions():
        if d.source_script == d.target_script == "Latn" or len(out) >= 8:
            continue
        src = Side(d.source, d.source_script, d.source if d.source in registry.dialects else None)
        tgt = Side(d.target, d.target_script, d.target if d.target in registry.dialects else None)
        out.append((src, tgt))
    return out


def load_tokenizers(ckpt: Checkpoint) -> Tokenizers:
    """Load both tokenizers; TokenizerError when there is no loadable SentencePiece model."""
    path = ckpt.tokenizer_file
    if not path.is_file():
        raise TokenizerError(
            f"{ckpt.path}: no {TOKENIZER_FILE}; LiteRT-LM needs the SentencePiece model (a tokenizer.json alone is "
            "tokenized differently on device); save the tokenizer with its SentencePiece model"
        )
    try:
        sp = spm.SentencePieceProcessor(model_file=str(path))
    except (RuntimeError, OSError) as e:
        raise TokenizerError(
            f"{path}: not a SentencePiece model ({e}); restore the tokenizer the model was trained with"
        ) from e
    try:
        hf = AutoTokenizer.from_pretrained(ckpt.path)
    except (OSError, ValueError, TypeError) as e:
        raise TokenizerError(f"{ckpt.path}: Hugging Face cannot load the tokenizer ({e})") from e
    return Tokenizers(hf, sp)


def check_vocabulary(ckpt: Checkpoint, tok: Tokenizers) -> dict[str, int]:
    """Every token id either tokenizer can produce must have a row in the embedding."""
    sizes = {"config": ckpt.vocab_size, "sentencepiece": tok.sp.get_piece_size(), "hugging_face": len(tok.hf)}
    too_big = {k: v for k, v in sizes.items() if v > ckpt.vocab_size}
    if too_big:
        raise VocabularyError(
            f"{ckpt.path}: the tokenizer has more tokens than the model's vocabulary ({sizes}); the tokenizer does "
            "not belong to this checkpoint"
        )
    return sizes


def check_tokenizer(ckpt: Checkpoint, tok: Tokenizers) -> dict[str, Any]:
    """HF and SentencePiece must give the same ids for the sample texts and the rendered tmz-v1 prompts."""
    registry = get_registry()
    samples = list(SAMPLE_TEXTS)
    for src, tgt in sample_directions(registry):
        samples.append(chat_prompt(ckpt.backend.chat_format, registry, src, tgt, SAMPLE_TEXTS[0]))
    for text in samples:
        hf_ids = tok.hf(text, add_special_tokens=False)["input_ids"]
        sp_ids = tok.sp.encode(text)
        if hf_ids != sp_ids:
            pos = next((i for i, (a, b) in enumerate(zip(hf_ids, sp_ids, strict=False)) if a != b), None)
            pos = min(len(hf_ids), len(sp_ids)) if pos is None else pos
            raise TokenizerError(
                f"{ckpt.path / TOKENIZER_FILE}: Hugging Face and SentencePiece tokenize {text!r} differently from "
                f"token {pos} (HF {hf_ids[pos : pos + 5]} vs SentencePiece {sp_ids[pos : pos + 5]}); train the "
                "SentencePiece model with Gemma's settings (identity normalisation, no dummy prefix, byte fallback; "
                "see FINDINGS.md) and keep tokenizer_config.json's vocab_file pointing at it"
            )
    return {"samples": len(samples), "identical": True}


def check_chat_template(ckpt: Checkpoint, tok: Tokenizers) -> dict[str, Any]:
    """The template must render list content (as LiteRT-LM sends it) exactly like the tmz-v1 prompt."""
    template = tok.hf.chat_template
    where = ckpt.path / "chat_template.jinja"
    if not template:
        raise ChatTemplateError(
            f"{where}: the checkpoint has no chat template; save the tmz chat template with it"
        )
    registry = get_registry()
    chat = ckpt.backend.chat_format
    bos = tok.hf.bos_token or ""
    src, tgt = sample_directions(registry)[0]
    cases = [
        (instruction(registry, src, tgt, SAMPLE_TEXTS[0]), messages(registry, src, tgt, SAMPLE_TEXTS[0]))
    ]
    if ckpt.backend.vision:
        cases.append(
            (chat.image_token + instruction(registry, None, tgt, None), messages(registry, None, tgt, None))
        )
    for user_text, conv in cases:
        expected = bos + chat.prompt(user_text)
        try:
            rendered = tok.hf.apply_chat_template(conv, tokenize=False, add_generation_prompt=True)
        except Exception as e:  # jinja raises many types; any failure here is the template's
            raise ChatTemplateError(f"{where}: the chat template fails on list content ({e})") from e
        if rendered != expected:
            raise ChatTemplateError(
                f"{where}: list content (as LiteRT-LM sends it) renders as {rendered!r}, expected {expected!r} "
                f"(prompt format {PROMPT_FORMAT_ID}, chat format {chat.name}); the template must accept string and "
                f"list content and render image parts as {chat.image_token}"
            )
    return {"list_content": True, "image_parts": ckpt.backend.vision}


def check_vision_normalisation(ckpt: Checkpoint) -> ImageNormalisation:
    """The normalisation the model was trained with: recorded in its manifest, equal to its image processor's."""
    try:
        processor = AutoImageProcessor.from_pretrained(ckpt.path)
    except (OSError, ValueError) as e:
        raise VisionNormalisationError(
            f"{ckpt.path}: a vision checkpoint needs its image processor config (processor_config.json or "
            f"preprocessor_config.json) ({e}); save the processor with the model"
        ) from e
    try:
        found = ImageNormalisation.of(processor)
    except (AttributeError, KeyError, TypeError) as e:
        raise VisionNormalisationError(
            f"{ckpt.path}: the image processor does not say how it rescales, normalises and resizes pixels ({e}); "
            "save the processor the model was trained with"
        ) from e
    if ckpt.manifest is not None:
        recorded = ckpt.manifest.settings.image_normalisation
        if recorded is None:
            raise VisionNormalisationError(
                f"{ckpt.path}: its model manifest records no settings.image_normalisation; the export must "
                "normalise pixels exactly as training did, so record it (docs/contracts.md, model)"
            )
        if recorded != found:
            raise VisionNormalisationError(
                f"{ckpt.path}: the manifest records image normalisation {recorded.model_dump()} but the image "
                f"processor does {found.model_dump()}; save the processor the model was trained with"
            )
    vision_size = int(ckpt.config.get("vision_config", {}).get("image_size", found.image_size[0]))
    if found.image_size != [vision_size, vision_size]:
        raise VisionNormalisationError(
            f"{ckpt.path}: the image processor resizes to {found.image_size} but the vision tower takes "
            f"{vision_size}x{vision_size}"
        )
    if len(found.image_mean) != 3 or len(found.image_std) != 3:
        raise VisionNormalisationError(
            f"{ckpt.path}: image_mean/image_std must have 3 (RGB) values: {found.model_dump()}"
        )
    return found
