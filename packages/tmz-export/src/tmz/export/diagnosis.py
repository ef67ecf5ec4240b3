"""What a failed parity check tells the user: which prompt, which tokens, how sure PyTorch was, what to try."""

from __future__ import annotations

from pathlib import Path

from tmz.core.parity import ParityReport, PromptParity, TokenChoice
from tmz.export.errors import ParityError

#: Measured (docs/parity.md): on the tiny test models int4's log-probabilities stray far more than int8's.
LIGHTER = {"int4": "int8"}


def _lp(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3f}"


def _token(t: TokenChoice | None) -> str:
    if t is None:
        return "the end of the answer"
    return f"{t.piece!r} (log p PyTorch {_lp(t.pytorch_logprob)}, LiteRT-LM {_lp(t.litert_logprob)})"


def explain_case(c: PromptParity, report: ParityReport) -> str:
    """One sentence on why ``c`` failed."""
    where = f"prompt {c.id!r} ({c.direction})"
    if c.failure == "chat_template":
        return (f"{where}: the engines saw different prompts ({c.prompt_tokens['pytorch']} tokens in PyTorch, "
                f"{c.prompt_tokens['litert']} in LiteRT-LM): the chat template packed into the export renders the "
                "prompt otherwise than the checkpoint's; re-export from this checkpoint")  # fmt: skip
    if c.failure == "tokenizer":
        return (f"{where}: the same text gives other token ids in LiteRT-LM than in the checkpoint's tokenizer: the "
                "export's tokenizer pieces differ from the checkpoint's; re-export from this checkpoint")  # fmt: skip
    if c.failure == "vision_encoder":
        return (f"{where}: the exported vision encoder, fed this image as LiteRT-LM feeds it (RGB in [0, 1]), gives "
                f"features {c.vision_encoder_error:.0%} away from PyTorch's vision tower on the processor's pixels "
                f"(tolerance {report.vision_tolerance:.0%}): check the pixel normalisation (image_normalisation in "
                "the checkpoint's manifest and processor)")  # fmt: skip
    if c.failure == "divergence" and c.pytorch_untokenizable_ids and c.parting is None:
        return (f"{where}: PyTorch generated id {c.pytorch_untokenizable_ids[0]} after {len(c.pytorch_ids)} tokens, "
                "past the tokenizer's pieces (a soft token of another modality, e.g. Gemma 3n's image and audio ids): "
                "no text carries it, so the answers cannot be compared beyond it and the model does not answer in "
                "text; train it further or export another checkpoint")  # fmt: skip
    if c.failure == "divergence" and c.parting is not None:
        p = c.parting
        return (f"{where}: the greedy answers part at token {p.position}: PyTorch chose {_token(p.pytorch)}, LiteRT-LM "
                f"chose {_token(p.litert)}; PyTorch's margin {_lp(p.pytorch_margin)} is beyond the tie margin "
                f"{report.tie_margin:g}, so PyTorch was sure and the exported model computes something else")  # fmt: skip
    worst = max(
        range(len(c.litert_logprobs)), key=lambda i: abs(c.pytorch_logprobs[i] - c.litert_logprobs[i])
    )
    return (f"{where}: token {worst} ({c.scored_ids[worst]}) has log p {c.pytorch_logprobs[worst]:.3f} in PyTorch "
            f"and {c.litert_logprobs[worst]:.3f} in LiteRT-LM; over the answer |delta log p| is {c.max_abs_delta:.3f} "
            f"at most and {c.mean_abs_delta:.3f} on average (tolerances {report.logprob_tolerance:g} and "
            f"{report.mean_tolerance:g}): the exported model computes something else than the checkpoint")  # fmt: skip


def parity_failure(where: Path, report: ParityReport, quantization: str, kept: str) -> ParityError:
    """The ParityError for a failed report: counts, the first failing prompt explained, what to try, and where
    the whole report is (``kept``)."""
    failed = [c for c in report.cases if c.failure is not None]
    head = (f"{where}: parity failed: {len(failed)} of {report.prompts} prompts fail ({report.divergences} divergent, "
            f"{report.logprob_failures} beyond the log-prob tolerance, {report.prompt_failures} tokenized differently, "
            f"{report.vision_failures} with the vision encoder off), "
            f"{report.ties} part at a near-tie; |delta log p| max {report.max_abs_delta:.3g}, mean "
            f"{report.mean_abs_delta:.3g} (tolerances {report.logprob_tolerance:g} / {report.mean_tolerance:g})")  # fmt: skip
    lines = [head]
    if failed:  # a divergence says most: explain the first one, else the first failure
        lines.append(explain_case(next((c for c in failed if c.failure == "divergence"), failed[0]), report))
    else:
        lines.append(
            "no single prompt fails, but the mean |delta log p| over all tokens exceeds its tolerance"
        )
    if failed and all(c.kind == "image" for c in failed) and not report.vision_failures:
        lines.append(
            "only image prompts fail: check the vision encoder's pixel normalisation (docs/contracts.md)"
        )
    numeric = not failed or all(c.failure in ("divergence", "logprob") for c in failed)
    if numeric and quantization in LIGHTER:
        lines.append(f"{quantization} was measured to stray more than {LIGHTER[quantization]} on small models: "
                     f"try -q {LIGHTER[quantization]}")  # fmt: skip
    elif numeric:
        lines.append("a lighter quantization is unlikely to help at this size of difference: compare the export "
                     "with the checkpoint it was converted from (tmz export verify EXPORT --model CHECKPOINT)")  # fmt: skip
    lines.append(kept)
    return ParityError("\n  ".join(lines))
