"""Tiny random Gemma 3 checkpoints (text, and image + text) with their SentencePiece tokenizer, built offline.

They have the real architectures at toy sizes, so the whole chain (train, merge, export, bundle, run on the
device engine) can be exercised on a CPU in seconds. The tokenizer uses the Gemma-like SentencePiece settings
under which Hugging Face and SentencePiece/LiteRT-LM tokenize identically (see FINDINGS.md).
"""

from __future__ import annotations

import json
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import sentencepiece as spm
import torch
from transformers import (
    Gemma3Config,
    Gemma3ForCausalLM,
    Gemma3ForConditionalGeneration,
    Gemma3ImageProcessorPil,
    Gemma3Processor,
    Gemma3TextConfig,
    GemmaTokenizer,
    GenerationConfig,
    SiglipVisionConfig,
)

from tmz.core.atomic import atomic_directory, write_text_atomic
from tmz.core.builtins import TINY_VOCAB_SIZE
from tmz.core.chat_format import GEMMA3, ChatFormat
from tmz.core.kinds.base import ImageNormalisation
from tmz.core.kinds.model import ModelSettings, TinyBase
from tmz.core.manifest import ModelManifest, Producer, list_files, write_manifest
from tmz.core.plugins import get_registry
from tmz.core.prompt import PROMPT_FORMAT_ID, Side, instruction
from tmz.core.registry import Registry
from tmz.core.tamazight import EXTENDED_TFNG_TO_LATN, IRCAM_TFNG_TO_LATN
from tmz.train.chat import CHAT_TEMPLATE, CHAT_TEMPLATE_FILE

TOKENIZER_FILE = "tokenizer.model"
#: Gemma's reserved ids: pad 0, eos 1, bos 2, unk 3.
PAD, EOS, BOS, UNK = "<pad>", "<eos>", "<bos>", "<unk>"
BOI, EOI, IMAGE_TOKEN = "<start_of_image>", "<end_of_image>", "<image_soft_token>"
#: Pieces SentencePiece must keep whole (user-defined symbols), in id order after the four reserved ones.
USER_SYMBOLS = ("<mask>", *GEMMA3.special_tokens, "\n", BOI, EOI, IMAGE_TOKEN)

TEXT_CONFIG: dict[str, Any] = dict(
    hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=1,
    head_dim=32, query_pre_attn_scalar=32, sliding_window=64, max_position_embeddings=1024,
    initializer_range=0.1,
)  # fmt: skip
VISION_CONFIG: dict[str, Any] = dict(
    image_size=64, patch_size=8, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
    num_attention_heads=2, vision_use_head=False,
)  # fmt: skip
MM_TOKENS_PER_IMAGE = 16

_LATIN = "abcdefghijklmnopqrstuvwxyz"
_FRENCH = "àâäçéèêëîïôöùûüÿœæ"


def alphabet_lines() -> list[str]:
    """Latin (English, French, Tamazight), Tifinagh (IRCAM) and Arabic letters, digits and punctuation."""
    arabic = "".join(chr(c) for c in range(0x0621, 0x064B) if unicodedata.category(chr(c)) == "Lo")
    tifinagh = "".join(IRCAM_TFNG_TO_LATN) + "".join(EXTENDED_TFNG_TO_LATN)
    tmz_latin = "".join(IRCAM_TFNG_TO_LATN.values()) + "".join(EXTENDED_TFNG_TO_LATN.values())
    return [_LATIN, _LATIN.upper(), _FRENCH, _FRENCH.upper(), tifinagh, tmz_latin, arabic, "0123456789",
            ".,;:!?'\"()-/%", "،؛؟"]  # fmt: skip


def prompt_lines(
    registry: Registry, render: Callable[[Registry, Side, Side, str | None], str] = instruction
) -> list[str]:
    """The instructions (``render``: tmz-v1's by default) of every registered direction, for text and images."""
    lines = []
    for d in registry.directions():
        src = Side(d.source, d.source_script, d.source if d.source in registry.dialects else None)
        tgt = Side(d.target, d.target_script, d.target if d.target in registry.dialects else None)
        lines += [render(registry, src, tgt, ""), render(registry, src, tgt, None)]
    return lines


def train_sentencepiece(
    corpus: Iterable[str], vocab_size: int = TINY_VOCAB_SIZE, chat: ChatFormat = GEMMA3
) -> bytes:
    """A BPE SentencePiece model (serialized) with Gemma's ids, normalisation settings and special pieces (the
    turn markers of ``chat``). Characters beyond what ``vocab_size`` holds (the rarest) are left to byte fallback,
    as Gemma's tokenizer leaves them, instead of failing."""
    lines = [s for s in corpus if s.strip()]
    symbols = [*dict.fromkeys((*USER_SYMBOLS, *chat.special_tokens))]
    buf = _Writer()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines), model_writer=buf, model_type="bpe", vocab_size=vocab_size,
        normalization_rule_name="identity", add_dummy_prefix=False, remove_extra_whitespaces=False,
        split_digits=True, allow_whitespace_only_pieces=True, byte_fallback=True,
        character_coverage=character_coverage(lines, vocab_size - 4 - len(symbols) - 256),
        pad_id=0, eos_id=1, bos_id=2, unk_id=3, pad_piece=PAD, eos_piece=EOS, bos_piece=BOS, unk_piece=UNK,
        user_defined_symbols=symbols, hard_vocab_limit=True, num_threads=1, minloglevel=2,
    )  # fmt: skip
    return buf.data


def character_coverage(lines: list[str], room: int, merges: int = 32) -> float:
    """SentencePiece's ``character_coverage`` that keeps every character of ``lines`` when ``room`` pieces (the
    vocabulary less its special and byte pieces) hold them all, else the most frequent ``room - merges``."""
    counts = Counter("".join(lines).replace(" ", "\u2581"))
    if len(counts) <= room:
        return 1.0
    keep = max(room - merges, 1)
    freq = sorted(counts.values(), reverse=True)
    total, kept = sum(freq), sum(freq[:keep])
    # SentencePiece adds characters, most frequent first, while the share added so far is below the coverage:
    # a coverage between the shares before and after the last kept character keeps exactly ``keep``.
    return (kept - freq[keep - 1] / 2) / total


class _Writer:
    """File-like sink for SentencePieceTrainer's ``model_writer``."""

    data = b""

    def write(self, data: bytes) -> None:
        self.data += data


def load_tokenizer(model_file: Path, chat: ChatFormat = GEMMA3) -> GemmaTokenizer:
    """The Hugging Face Gemma tokenizer converted from ``tokenizer.model`` (alone in its folder), with Gemma's
    named image tokens."""
    return GemmaTokenizer.from_pretrained(
        model_file.parent,
        extra_special_tokens={"boi_token": BOI, "eoi_token": EOI, "image_token": IMAGE_TOKEN},
        add_bos_token=True,
        add_eos_token=False,
        chat_template=chat.template,
    )


def set_vocab_file(directory: Path) -> None:
    """Point ``tokenizer_config.json`` at ``tokenizer.model`` (the exporter packs the file it names)."""
    path = directory / "tokenizer_config.json"
    cfg = json.loads(path.read_text(encoding="utf-8"))
    cfg["vocab_file"] = TOKENIZER_FILE
    write_text_atomic(path, json.dumps(cfg, indent=2, ensure_ascii=False) + "\n")


def _text_config(tok: GemmaTokenizer, vocab_size: int) -> Gemma3TextConfig:
    end_of_turn = tok.convert_tokens_to_ids(GEMMA3.turn_end)
    return Gemma3TextConfig(
        vocab_size=vocab_size, pad_token_id=0, eos_token_id=[1, end_of_turn], bos_token_id=2, **TEXT_CONFIG
    )


def _build_model(tok: GemmaTokenizer, vision: bool, seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    text = _text_config(tok, len(tok))
    if not vision:
        model = Gemma3ForCausalLM(text)
    else:
        config = Gemma3Config(
            text_config=text,
            vision_config=SiglipVisionConfig(**VISION_CONFIG),
            mm_tokens_per_image=MM_TOKENS_PER_IMAGE,
            boi_token_index=tok.convert_tokens_to_ids(BOI),
            eoi_token_index=tok.convert_tokens_to_ids(EOI),
            image_token_index=tok.convert_tokens_to_ids(IMAGE_TOKEN),
            pad_token_id=0,
            eos_token_id=text.eos_token_id,
            bos_token_id=2,
        )
        model = Gemma3ForConditionalGeneration(config)
        # The projector starts at zero, so an untrained model would ignore images: give it unit-scale weights.
        proj = model.model.multi_modal_projector.mm_input_projection_weight
        with torch.no_grad():
            proj.normal_(0.0, proj.shape[0] ** -0.5, generator=torch.Generator().manual_seed(seed))
    model.generation_config = GenerationConfig(
        bos_token_id=2, eos_token_id=text.eos_token_id, pad_token_id=0, do_sample=False
    )
    return model.eval()


def build_tiny(
    out: str | Path,
    *,
    vision: bool = False,
    texts: Iterable[str] | None = None,
    seed: int = 0,
    overwrite: bool = False,
    backend: str | None = None,
    model: Callable[[GemmaTokenizer], torch.nn.Module] | None = None,
    text_config: dict[str, Any] | None = None,
    chat: ChatFormat = GEMMA3,
) -> ModelManifest:
    """Build a tiny random Gemma 3 checkpoint (``vision`` for image + text) with its tokenizer into ``out`` (which
    replaces only a model tmz wrote, unless ``overwrite``).

    The tokenizer is trained on ``texts`` plus the tmz-v1 prompts of every registered direction and the Latin,
    Tifinagh and Arabic alphabets. Returns the "model" manifest (backend ``tiny`` or ``tiny-vision``). Another
    text family's builder (a plugin's ``ModelBackend.build_tiny``) passes its ``backend`` name, ``model`` (built
    from the tokenizer), the ``text_config`` it records and its ``chat`` format.
    """
    registry = get_registry()
    texts = list(texts or [])
    corpus = [*texts, *prompt_lines(registry), *alphabet_lines()]
    backend = backend or ("tiny-vision" if vision else "tiny")
    with atomic_directory(out, "model", overwrite=overwrite) as tmp:
        (tmp / TOKENIZER_FILE).write_bytes(train_sentencepiece(corpus, chat=chat))
        tok = load_tokenizer(tmp / TOKENIZER_FILE, chat)
        net = model(tok) if model is not None else _build_model(tok, vision, seed)
        net.save_pretrained(tmp, safe_serialization=True)
        norm = None
        if vision:
            processor = Gemma3Processor(
                image_processor=Gemma3ImageProcessorPil(
                    size={"height": VISION_CONFIG["image_size"], "width": VISION_CONFIG["image_size"]}
                ),
                tokenizer=tok,
                chat_template=CHAT_TEMPLATE,
                image_seq_length=MM_TOKENS_PER_IMAGE,
            )
            processor.save_pretrained(tmp)
            norm = ImageNormalisation.of(processor.image_processor)
        else:
            tok.save_pretrained(tmp)
        set_vocab_file(tmp)
        write_text_atomic(tmp / CHAT_TEMPLATE_FILE, chat.template)
        manifest = ModelManifest(
            name=Path(out).name,
            producer=Producer.of("tmz-train"),
            backend=backend,
            files=list_files(tmp),
            languages=sorted(registry.languages),
            dialects=sorted(registry.dialects),
            scripts=sorted({s for lang in registry.languages.values() for s in lang.scripts}),
            prompt_format=PROMPT_FORMAT_ID,
            settings=ModelSettings(
                tiny=TinyBase(
                    seed=seed,
                    vocab_size=len(tok),
                    tokenizer_corpus_lines=len(corpus),
                    text_config=text_config or TEXT_CONFIG,
                    vision_config=VISION_CONFIG if vision else None,
                ),
                image_normalisation=norm,
            ),
        )
        write_manifest(manifest, tmp)
    return manifest
