"""The on-device LLM metadata of a bundle, from an export's ``settings.llm`` (``LlmSpec``): LiteRT-LM's ``LlmMetadata``
(for ``.litertlm``) and MediaPipe's ``LlmParameters`` (for ``.task``).

Both carry the start and stop tokens and the turn affixes of the backend's chat format
(:mod:`tmz.core.chat_format`); the export's prompt prefix and suffix must render exactly that format's user turn,
so the device prompts the model the way it was trained.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import sentencepiece as spm
from litert_lm_builder.runtime.proto import llm_metadata_pb2, llm_model_type_pb2, sampler_params_pb2

from tmz.bundle.errors import BundleError
from tmz.bundle.llm_params import LlmParameters
from tmz.core.chat_format import GEMMA3, ChatFormat
from tmz.core.kinds.bundle import BundleLlm, Sampler
from tmz.core.kinds.export import LlmSpec

#: The one sampler type LiteRT-LM 0.18.1 implements (``CreateCpuSampler``: top-k, then top-p, then temperature;
#: k = 1 is an exact argmax whatever p and the temperature). Measured with ``litert-lm run`` on the tiny
#: ``.litertlm`` and no sampler flags: TOP_K fails with ``UNIMPLEMENTED: Sampler type: 1 not implemented yet.``,
#: GREEDY with ``UNIMPLEMENTED: Sampler type: 3 not implemented yet.``, TOP_P with k = 0 with
#: ``INVALID_ARGUMENT: k must be positive.``; TOP_P with k = 1 (p 1.0 or 0.95, temperature 0.0 or 1.0) answers
#: every memorised prompt exactly. ``litert-lm benchmark`` decodes nothing for the failing types.
SAMPLER_TYPE = sampler_params_pb2.SamplerParameters.TOP_P


_DEFAULT = Sampler()


@dataclass(frozen=True)
class SamplerDefaults:
    """The sampler a ``.litertlm`` suggests to the runtime, written as LiteRT-LM's TOP_P sampler (the only type
    it implements); the default (``tmz.core.kinds.bundle.Sampler``'s), top-k 1, is greedy, which suits
    translation."""

    top_k: int = _DEFAULT.top_k
    top_p: float = _DEFAULT.top_p
    temperature: float = _DEFAULT.temperature

    def __post_init__(self) -> None:
        if self.top_k < 1 or not 0.0 < self.top_p <= 1.0 or self.temperature < 0.0:
            raise BundleError(
                f"sampler {asdict(self)}: expected top_k >= 1, 0 < top_p <= 1 and temperature >= 0"
            )

    @property
    def greedy(self) -> bool:
        return self.top_k == 1

    def record(self) -> Sampler:
        """What :func:`llm_metadata` writes, as the manifest records it: LiteRT-LM's TOP_P sampler."""
        type_name = sampler_params_pb2.SamplerParameters.Type.Name(SAMPLER_TYPE).lower()
        return Sampler(type=type_name, **asdict(self))


def check_llm(llm: LlmSpec, where: str, chat: ChatFormat = GEMMA3) -> LlmSpec:
    """The export's ``settings.llm``, checked against the backend's chat format: stop tokens given, the turn
    terminator among them, and the prompt affixes of its user turn."""
    if not llm.stop_tokens or not all(llm.stop_tokens):
        raise BundleError(f"{where}: settings.llm.stop_tokens must be a non-empty list of token strings")
    if chat.turn_end not in llm.stop_tokens:
        raise BundleError(
            f"{where}: settings.llm.stop_tokens {llm.stop_tokens} lack the turn terminator {chat.turn_end!r} of "
            f"chat format {chat.name!r}: the model would never stop; fix the checkpoint's eos_token_id and re-export"
        )
    probe = "\x00"
    if f"{llm.prompt_prefix}{probe}{llm.prompt_suffix}" != chat.prompt(probe):
        raise BundleError(
            f"{where}: settings.llm prompt_prefix/prompt_suffix ({llm.prompt_prefix!r}, {llm.prompt_suffix!r}) "
            f"do not render chat format {chat.name!r} ({chat.prompt(probe)!r} around the text); re-export with "
            "the current tmz"
        )
    return llm


def bundle_llm(llm: LlmSpec) -> BundleLlm:
    """What a bundle declares of the export's LLM settings (all but the chat template)."""
    return BundleLlm(**llm.model_dump(include=set(BundleLlm.model_fields)))


def check_tokenizer(path: Path, llm: LlmSpec) -> None:
    """The tokenizer must be a SentencePiece model that has the start and stop tokens as single pieces."""
    try:
        sp = spm.SentencePieceProcessor(model_file=str(path))
    except (RuntimeError, OSError) as e:
        raise BundleError(
            f"{path}: not a SentencePiece model ({e}); bundles need the export's tokenizer.model"
        ) from None
    tokens = [t for t in (llm.start_token, *llm.stop_tokens) if t]
    missing = [t for t in tokens if sp.piece_to_id(t) == sp.unk_id()]
    if missing:
        raise BundleError(f"{path}: has no piece for {', '.join(map(repr, missing))}; the export's llm settings and "
                          "tokenizer disagree, re-export the model")  # fmt: skip


def llm_metadata(
    llm: LlmSpec,
    max_num_tokens: int,
    sampler: SamplerDefaults,
    model_type: llm_model_type_pb2.LlmModelType | None = None,
    chat: ChatFormat = GEMMA3,
) -> llm_metadata_pb2.LlmMetadata:
    """LiteRT-LM's ``LlmMetadata`` for a ``.litertlm``, with the turn affixes of ``chat``.

    ``model_type`` replaces the one named by ``llm.model_type``: a vision model's carries its image
    tokens and input size.
    """
    md = llm_metadata_pb2.LlmMetadata(max_num_tokens=max_num_tokens, supports_thinking=False,
                                      supports_function_calling=False)  # fmt: skip
    if llm.start_token:
        md.start_token.token_str = llm.start_token
    for token in llm.stop_tokens:
        md.stop_tokens.add().token_str = token
    md.prompt_templates.user.prefix, md.prompt_templates.user.suffix = chat.user_prefix, chat.user_suffix
    md.prompt_templates.model.prefix, md.prompt_templates.model.suffix = chat.model_prefix, chat.model_suffix
    if llm.chat_template:
        md.jinja_prompt_template = llm.chat_template
    params = md.sampler_params
    params.type = SAMPLER_TYPE  # GREEDY and TOP_K are UNIMPLEMENTED in LiteRT-LM; greedy is TOP_P with k = 1
    params.k, params.p, params.temperature = sampler.top_k, sampler.top_p, sampler.temperature
    if model_type is not None:
        md.llm_model_type.CopyFrom(model_type)
    elif llm.model_type in md.llm_model_type.DESCRIPTOR.fields_by_name:
        getattr(md.llm_model_type, llm.model_type).SetInParent()
    else:
        known = sorted(md.llm_model_type.DESCRIPTOR.fields_by_name)
        raise BundleError(f"model type {llm.model_type!r} is unknown to LiteRT-LM (knows {', '.join(known)})")
    return md


def task_parameters(llm: LlmSpec, chat: ChatFormat = GEMMA3) -> Any:
    """MediaPipe's ``LlmParameters`` for a ``.task``: start/stop tokens and both prompt template fields (the
    per-role ones from ``chat``).

    ``LlmParameters`` has no sampler field: a ``.task`` runs with its runtime's sampler (LiteRT-LM's default,
    TOP_P with k = 1, p 0.95, temperature 1.0, which is greedy; MediaPipe's LlmInference takes the app's).
    """
    params = LlmParameters(stop_tokens=list(llm.stop_tokens))
    if llm.start_token:
        params.start_token = llm.start_token
    params.prompt_template.prompt_prefix = llm.prompt_prefix
    params.prompt_template.prompt_suffix = llm.prompt_suffix
    templates = params.prompt_templates
    templates.user_template.prompt_prefix, templates.user_template.prompt_suffix = (
        chat.user_prefix,
        chat.user_suffix,
    )
    templates.model_template.prompt_prefix, templates.model_template.prompt_suffix = (
        chat.model_prefix,
        chat.model_suffix,
    )
    return params
