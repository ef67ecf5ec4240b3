"""The parity report: how far an exported model, running in LiteRT-LM, answers as its PyTorch checkpoint did.

Written by tmz-export into the export manifest (``results.parity``) and carried by tmz-bundle into bundle
manifests and the catalog; the fields are documented here and in docs/contracts.md.

For every prompt both engines answer greedily. LiteRT-LM then scores PyTorch's answer token by token, and each
token's log-probability is compared with PyTorch's own for the same token. Where the greedy answers part, the
report keeps PyTorch's margin between its token and LiteRT-LM's: within ``tie_margin`` the two were all but tied
in PyTorch itself and rounding may pick either (a *tie*); beyond it the engines disagree (a *divergence*).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

#: What went wrong, when something did: ``chat_template`` (LiteRT-LM's rendering of the prompt is not the
#: checkpoint's: another number of tokens), ``tokenizer`` (the same text gives other token ids in the two
#: engines), ``divergence`` (greedy answers part where PyTorch was sure, or PyTorch
#: generated an id the tokenizer has no piece for), ``logprob`` (log-probabilities of the same
#: tokens differ beyond tolerance), ``vision_encoder`` (the exported vision encoder, fed pixels as LiteRT-LM feeds
#: them, does not see what PyTorch's vision tower saw: e.g. the pixel normalisation left out).
FailureKind = Literal["chat_template", "tokenizer", "divergence", "logprob", "vision_encoder"]
Verdict = Literal["match", "tie", "fail"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TokenChoice(_Model):
    """One token with its log-probability on both engines (None where an engine did not score it)."""

    id: int
    piece: str
    pytorch_logprob: float | None = None
    litert_logprob: float | None = None


class Parting(_Model):
    """Where the greedy answers first differ."""

    position: int = Field(description="index in the answer (0: the first generated token)")
    pytorch: TokenChoice | None = Field(description="PyTorch's token there (None: PyTorch's answer ended)")
    litert: TokenChoice | None = Field(description="LiteRT-LM's token there (None: LiteRT-LM's answer ended)")
    pytorch_margin: float | None = Field(
        description="PyTorch's log-prob of its token minus that of LiteRT-LM's token (small: PyTorch was unsure)"
    )
    tie: bool = Field(description="pytorch_margin within the report's tie_margin")


class PromptParity(_Model):
    """One prompt's comparison."""

    id: str
    kind: Literal["text", "image"]
    direction: str
    instruction: str
    image: str | None = None
    verdict: Verdict
    failure: FailureKind | None = None
    exact: bool = Field(description="identical greedy token ids, prompt and decode step counts")
    prompt_tokens: dict[str, int] = Field(description="prompt length per engine (pytorch, litert)")
    generated_tokens: dict[str, int] = Field(description="decode steps per engine, stop token included")
    pytorch_text: str
    litert_text: str
    pytorch_ids: list[int]
    litert_ids: list[int]
    scored_ids: list[int] = Field(description="the tokens of PyTorch's answer that LiteRT-LM scored")
    pytorch_logprobs: list[float]
    litert_logprobs: list[float]
    max_abs_delta: float = Field(description="max |log p PyTorch - log p LiteRT-LM| over the scored tokens")
    mean_abs_delta: float
    parting: Parting | None = None
    vision_encoder_error: float | None = Field(
        None, description="image prompts: max |exported encoder features - PyTorch's| / max |PyTorch's|"
    )
    pytorch_untokenizable_ids: list[int] = Field(
        default_factory=list,
        description="ids PyTorch generated past the SentencePiece model (e.g. Gemma 3n's image and audio soft "
        "tokens), which no text carries: its answer is compared up to the first, and the prompt is a divergence",
    )
    litert_held_back_ids: list[int] = Field(
        default_factory=list,
        description="the last tokens of PyTorch's answer that LiteRT-LM generated (as many decode steps) but left "
        "out of its text, only trailing whitespace (LiteRT-LM 0.18.1 holds back a final '▁'); compared as "
        "LiteRT-LM's because its own probability of each is above 1/2, so greedy decoding chose it",
    )


class ParityReport(_Model):
    """The whole check (``results.parity`` of an export manifest)."""

    passed: bool
    prompts: int
    exact: int = Field(description="prompts whose greedy answers are identical")
    ties: int = Field(description="prompts whose answers part at a near-tie of PyTorch's own")
    divergences: int
    logprob_failures: int
    prompt_failures: int = Field(description="prompts the engines rendered or tokenized differently")
    vision_failures: int = Field(0, description="image prompts whose exported encoder sees other features")
    max_abs_delta: float
    mean_abs_delta: float
    tie_margin: float = Field(description="PyTorch margins at or below this at a parting count as ties")
    logprob_tolerance: float = Field(description="the largest |delta log p| a passing prompt may have")
    mean_tolerance: float = Field(
        description="the largest mean |delta log p| of a prompt, and over all prompts"
    )
    vision_tolerance: float | None = Field(None, description="the largest relative vision encoder error")
    tolerance_source: str = Field(description="how the tolerances were chosen")
    max_new_tokens: int
    prompt_source: str
    engine: dict[str, str]
    reference: str = Field(description="the PyTorch checkpoint compared with")
    first_failure: PromptParity | None = None
    cases: list[PromptParity]
    seconds: float

    @property
    def exact_rate(self) -> float:
        return self.exact / self.prompts if self.prompts else 0.0
