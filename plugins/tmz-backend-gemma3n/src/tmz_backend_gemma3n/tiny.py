"""A tiny random Gemma 3n with its SentencePiece tokenizer, built offline (backend ``gemma3n-tiny``).

It is a ``Gemma3nForConditionalGeneration`` (model type ``gemma3n``), as teams' merged checkpoints are: a language
model with Gemma 3n's structure at toy sizes, per-layer embeddings (``hidden_size_per_layer_input``), AltUp
(``altup_num_inputs``), LAuReL (``laurel_rank``), KV sharing (the last ``num_kv_shared_layers`` layers reuse the
cache of the last earlier layer of their type) and activation sparsity (a Gaussian top-k on the first layers),
with Gemma 3n's layer pattern (sliding, then full attention); and its vision (timm's MobileNet-V5 encoder, channels
scaled down) and audio (Conformer) towers, which the export drops. As in the real checkpoints, the text vocabulary
is the per-layer vocabulary plus the image and audio soft tokens (262,400 = 262,144 + 128 + 128).

The tokenizer, chat format (Gemma 3's turn markers) and stop tokens (``<eos>``, ``<end_of_turn>``; never the
newline, LiteRT-LM #950) are tmz-train's Gemma ones.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

#: Toy sizes of Gemma 3n's text model (transformers' Gemma3nTextConfig); the E2B values in the comments.
TEXT_CONFIG: dict[str, Any] = dict(
    hidden_size=64,  # 2048
    intermediate_size=128,  # 8192
    num_hidden_layers=4,  # 30
    num_attention_heads=2,  # 8
    num_key_value_heads=1,  # 2
    head_dim=32,  # 256
    hidden_size_per_layer_input=8,  # 256: per-layer embeddings
    altup_num_inputs=4,  # 4: AltUp
    laurel_rank=4,  # 64: LAuReL
    num_kv_shared_layers=2,  # 10: KV sharing
    layer_types=["sliding_attention", "full_attention", "sliding_attention", "full_attention"],
    activation_sparsity_pattern=[0.95, 0.95, 0.0, 0.0],  # 0.95 on the first 10 layers
    sliding_window=64,  # 512
    max_position_embeddings=1024,  # 32768
    initializer_range=0.1,
)
#: Soft-token ids past the per-layer vocabulary (vision, then audio), as 128 + 128 in the real models.
VISION_TOKENS = AUDIO_TOKENS = 8
SOFT_TOKENS = VISION_TOKENS + AUDIO_TOKENS
#: timm's ``mobilenetv5_300m_enc`` (Gemma 3n's image encoder) with its channels scaled down (1.5M parameters).
VISION_CONFIG: dict[str, Any] = dict(model_args={"channel_multiplier": 0.01})
#: Gemma 3n's audio encoder at toy sizes (Gemma3nAudioConfig; E2B: 1536 wide, 12 Conformer layers).
AUDIO_CONFIG: dict[str, Any] = dict(
    hidden_size=16, conf_num_hidden_layers=1, conf_num_attention_heads=2, input_feat_size=8,
    sscp_conv_channel_size=[4, 4],
)  # fmt: skip


def text_config(tok: Any) -> Any:
    """Gemma 3n's text config at toy sizes for tokenizer ``tok`` (its ids are the per-layer vocabulary)."""
    from transformers import Gemma3nTextConfig

    end_of_turn = tok.convert_tokens_to_ids("<end_of_turn>")
    return Gemma3nTextConfig(
        vocab_size=len(tok) + SOFT_TOKENS, vocab_size_per_layer_input=len(tok), pad_token_id=0,
        eos_token_id=[1, end_of_turn], bos_token_id=2, **TEXT_CONFIG,
    )  # fmt: skip


def config(tok: Any) -> Any:
    """The whole model's config: the text config, the towers, and the soft-token ids laid out as in the real
    checkpoints (end of image = first vision id, image token next; end of audio = first audio id, audio next)."""
    from transformers import Gemma3nAudioConfig, Gemma3nConfig, Gemma3nVisionConfig

    text = text_config(tok)
    vision_offset = len(tok)
    audio_offset = vision_offset + VISION_TOKENS
    return Gemma3nConfig(
        text_config=text,
        vision_config=Gemma3nVisionConfig(vocab_size=VISION_TOKENS, vocab_offset=vision_offset, **VISION_CONFIG),
        audio_config=Gemma3nAudioConfig(vocab_size=AUDIO_TOKENS, vocab_offset=audio_offset, **AUDIO_CONFIG),
        boi_token_id=tok.convert_tokens_to_ids("<start_of_image>"), eoi_token_id=vision_offset,
        image_token_id=vision_offset + 1, boa_token_id=tok.unk_token_id,  # the tiny tokenizer has no audio marker
        eoa_token_id=audio_offset, audio_token_id=audio_offset + 1,
        pad_token_id=0, eos_token_id=text.eos_token_id, bos_token_id=2,
    )  # fmt: skip


def build(out: Path, *, texts: Iterable[str], seed: int, overwrite: bool = False) -> Any:
    """Build the tiny Gemma 3n into ``out`` (tokenizer trained on ``texts`` plus tmz's prompts and alphabets);
    returns its "model" manifest (backend ``gemma3n-tiny``). Needs tmz-train (and so transformers)."""
    import torch
    from transformers import Gemma3nForConditionalGeneration, GenerationConfig

    from tmz.train.tiny import build_tiny

    def model(tok: Any) -> torch.nn.Module:
        torch.manual_seed(seed)
        cfg = config(tok)
        net = Gemma3nForConditionalGeneration(cfg)
        # Soft-token ids are embedded by the towers' embedders, never by embed_tokens, whose rows for them serve
        # only as the (tied) output head: zero, they give logit 0, which a random model's greedy choice never is,
        # so the tiny model answers in text (LiteRT-LM cannot detokenize a soft-token id; see the README).
        with torch.no_grad():
            net.model.language_model.embed_tokens.weight[len(tok) :].zero_()
        net.generation_config = GenerationConfig(
            bos_token_id=2, eos_token_id=cfg.eos_token_id, pad_token_id=0, do_sample=False
        )
        return net.eval()

    return build_tiny(out, texts=texts, seed=seed, overwrite=overwrite, backend="gemma3n-tiny", model=model,
                      text_config=TEXT_CONFIG)  # fmt: skip
