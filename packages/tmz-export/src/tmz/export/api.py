"""``export`` and ``verify``: checkpoint -> checked, converted, parity-tested export directory."""

from __future__ import annotations

import itertools
import tempfile
from collections.abc import Iterable, Sequence
from importlib.metadata import version
from pathlib import Path
from typing import Any, Literal

from rich.console import Console

from tmz.core.atomic import atomic_directory
from tmz.core.manifest import (
    ExportManifest,
    Producer,
    list_files,
    load_manifest,
    manifest_hash,
    parent_ref,
    write_manifest,
)
from tmz.core.plugins import get_registry
from tmz.export.checkpoint import Checkpoint, describe, open_checkpoint
from tmz.export.checks import (
    check_chat_template,
    check_tokenizer,
    check_vision_normalisation,
    check_vocabulary,
    load_tokenizers,
)
from tmz.export.errors import ExportError, ParityError
from tmz.export.llm import llm_metadata
from tmz.export.prompts import ParityPrompt, builtin, coerce, from_dataset
from tmz.export.recipes import recipe_for
from tmz.export.resources import measure
from tmz.export.signatures import default_prefill_lengths

Vision = Literal["auto"] | bool
DEFAULT_KV_CACHE = 1024
DEFAULT_PARITY_PROMPTS = 8
DEFAULT_MAX_NEW_TOKENS = 32
DEFAULT_THRESHOLD = 0.9
console = Console(stderr=True, highlight=False)


def _use_vision(ckpt: Checkpoint, vision: Vision) -> bool:
    if vision == "auto":
        return ckpt.backend.vision
    if vision and not ckpt.backend.vision:
        raise ExportError(f"{ckpt.path}: backend {ckpt.backend.name!r} has no vision tower; drop vision=True")
    return bool(vision)


def _check_lengths(ckpt: Checkpoint, prefill_lengths: Sequence[int], kv_cache: int) -> None:
    limit = int(ckpt.text_config.get("max_position_embeddings", kv_cache))
    if not prefill_lengths or any(p <= 0 or p > kv_cache for p in prefill_lengths):
        raise ExportError(
            f"prefill lengths {list(prefill_lengths)} must be positive and at most the KV cache ({kv_cache})"
        )
    if kv_cache > limit:
        raise ExportError(
            f"KV cache {kv_cache} exceeds the model's max_position_embeddings ({limit}); lower it"
        )


def run_checks(ckpt: Checkpoint) -> tuple[dict[str, Any], Any]:
    """Every pre-conversion check, in order (each raises its named error); returns the report and tokenizers."""
    checks: dict[str, Any] = {
        "architecture": {"architecture": ckpt.architecture, "backend": ckpt.backend.name}
    }
    with console.status("checking the checkpoint (tokenizer, chat template, vocabulary)"):
        tok = load_tokenizers(ckpt)
        checks["vocabulary"] = check_vocabulary(ckpt, tok)
        checks["tokenizer"] = check_tokenizer(ckpt, tok)
        checks["chat_template"] = check_chat_template(ckpt, tok)
        if ckpt.backend.vision:
            checks["vision_normalisation"] = check_vision_normalisation(ckpt)
    return checks, tok


def select_prompts(
    ckpt: Checkpoint,
    given: Iterable[Any] | None,
    n: int,
    vision: bool,
    image_dir: Path,
    image_size: tuple[int, int],
) -> tuple[list[ParityPrompt], str]:
    """Parity prompts: the given ones, else the lineage dataset's test split, else built-in; text and image
    prompts interleaved (images only for vision exports), at most ``n``."""
    registry = get_registry()
    dataset = ckpt.dataset()
    if given is not None:
        prompts, source = coerce(registry, given), "given"
    elif dataset is not None and (dataset / "jsonl" / "test.jsonl").is_file():
        prompts, source = from_dataset(registry, dataset), f"dataset test split ({dataset})"
    else:
        prompts, source = builtin(registry, vision, image_dir, image_size), "built-in"
    texts = [p for p in prompts if p.image is None]
    images = [p for p in prompts if p.image is not None] if vision else []
    mixed = [p for pair in itertools.zip_longest(texts, images) for p in pair if p is not None]
    if not mixed:
        raise ExportError(f"no usable parity prompts ({source}); give text prompts (dataset rows)")
    return mixed[:n], source


def _parity(
    ckpt: Checkpoint, litertlm: Path, prompts: Iterable[Any] | None, n: int, vision: bool, kv_cache: int,
    max_new_tokens: int, threshold: float, normalisation: dict[str, Any] | None,
) -> dict[str, Any]:  # fmt: skip
    from tmz.export.parity import run_parity

    size = tuple(normalisation["image_size"][::-1]) if normalisation else (0, 0)
    with tempfile.TemporaryDirectory(prefix="tmz-prompts-") as tmp:
        chosen, source = select_prompts(ckpt, prompts, n, vision, Path(tmp), size)
        console.print(f"parity: {len(chosen)} prompts ({source}), greedy, up to {max_new_tokens} new tokens")
        return run_parity(
            ckpt, litertlm, chosen, vision=vision, max_num_tokens=kv_cache, max_new_tokens=max_new_tokens,
            threshold=threshold, prompt_source=source,
        )  # fmt: skip


def _parity_failure(where: Path, report: dict[str, Any]) -> ParityError:
    d = report["first_divergence"] or {}
    return ParityError(
        f"{where}: parity {report['matched']}/{report['prompts']} ({report['match_rate']:.0%}) is below the "
        f"threshold {report['threshold']:.0%}; first divergence: prompt {d.get('prompt')!r} at token "
        f"{d.get('position')} (PyTorch {d.get('pytorch')}, LiteRT-LM {d.get('litert')}, prompt tokens "
        f"{d.get('prompt_tokens')}); see results.parity in the manifest; try a lighter quantization"
    )


def export(
    model: str | Path,
    out: str | Path,
    quantization: str = "int8",
    prefill_lengths: Sequence[int] | None = None,
    kv_cache: int = DEFAULT_KV_CACHE,
    vision: Vision = "auto",
    parity: bool = True,
    prompts: Iterable[Any] | None = None,
    parity_prompts: int = DEFAULT_PARITY_PROMPTS,
    max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS,
    threshold: float = DEFAULT_THRESHOLD,
    backend: str | None = None,
) -> ExportManifest:
    """Export a merged checkpoint (``model``: a model artifact or a plain Hugging Face directory) into ``out``.

    Checks the checkpoint first (architecture and vocabulary against its backend, SentencePiece tokenizer parity,
    chat template on list content, vision normalisation), converts it with litert-torch (quantization ``int8``,
    ``int4``, ``fp16`` or ``fp32``; one prefill signature per length, by default the ladder of
    :func:`~tmz.export.signatures.default_prefill_lengths`; KV cache of ``kv_cache`` tokens; the vision encoder
    for vision backends unless ``vision=False``), and unless ``parity=False`` compares greedy answers of
    PyTorch and LiteRT-LM. A plain checkpoint gets a model manifest describing what was found.

    The export is written even when parity falls below ``threshold`` (the manifest records it); then ParityError
    is raised.
    """
    recipe = recipe_for(quantization)
    ckpt = open_checkpoint(model, backend)
    use_vision = _use_vision(ckpt, vision)
    prefill_lengths = default_prefill_lengths(kv_cache) if prefill_lengths is None else list(prefill_lengths)
    _check_lengths(ckpt, prefill_lengths, kv_cache)
    checks, tok = run_checks(ckpt)
    normalisation = checks.get("vision_normalisation")
    ckpt = describe(ckpt, {"image_normalisation": normalisation} if normalisation else {})
    llm = llm_metadata(ckpt, tok.hf)
    out = Path(out)
    from tmz.export.convert import convert  # litert-torch takes a minute to import: only when converting

    source = ckpt.manifest
    with atomic_directory(out) as tmp:
        console.print(f"converting {ckpt.path} ({ckpt.backend.name}, {quantization}) with litert-torch")
        with measure() as usage:
            components = convert(
                ckpt, tmp, recipe, list(prefill_lengths), kv_cache, use_vision, normalisation
            )
        console.print(f"converted in {usage.seconds:.0f} s, peak memory {usage.peak_rss_mb:.0f} MB")
        settings: dict[str, Any] = {
            "quantization": quantization,
            "recipes": {"llm": recipe.llm, "vision": recipe.vision if use_vision else None},
            "prefill_lengths": list(prefill_lengths),
            "kv_cache_max_len": kv_cache,
            "export_task": ckpt.backend.export_task,
            "vision": use_vision,
            "components": components,
            "llm": llm,
            "litert_torch": version("litert-torch"),
        }
        if use_vision:
            settings["image_normalisation"] = normalisation
            settings["pixel_input"] = (
                "RGB channel-last in [0, 1]; the vision encoder applies image_normalisation"
            )
        manifest = ExportManifest(
            name=out.name, producer=Producer.of("tmz-export"), parent=parent_ref(ckpt.path),
            backend=ckpt.backend.name, files=list_files(tmp), **source.coverage(), settings=settings, results={"checks": checks, "export": usage.as_dict()},
        )  # fmt: skip
        if parity:
            report = _parity(ckpt, tmp / components["litertlm"], prompts, parity_prompts, use_vision, kv_cache,
                             max_new_tokens, threshold, normalisation)  # fmt: skip
            manifest.results["parity"] = report
        write_manifest(manifest, tmp)
    if parity and not manifest.results["parity"]["passed"]:
        raise _parity_failure(out, manifest.results["parity"])
    return manifest


def verify(
    export_dir: str | Path,
    model: str | Path | None = None,
    prompts: Iterable[Any] | None = None,
    parity_prompts: int = DEFAULT_PARITY_PROMPTS,
    max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS,
    threshold: float = DEFAULT_THRESHOLD,
    record: bool = True,
) -> dict[str, Any]:
    """Re-run the parity check of an export against its source checkpoint (``model``, default: its parent).

    With ``record`` the report replaces ``results.parity`` in the export's manifest. Raises ParityError below
    ``threshold``.
    """
    export_dir = Path(export_dir)
    manifest: ExportManifest = load_manifest(export_dir, expect_kind="export")
    if model is None:
        if manifest.parent is None:
            raise ExportError(
                f"{export_dir}: the manifest names no source checkpoint; pass the model directory"
            )
        model = Path(manifest.parent.path).parent
    ckpt = open_checkpoint(model, manifest.backend)
    if manifest.parent is not None and manifest_hash(ckpt.path) != manifest.parent.sha256:
        raise ExportError(
            f"{ckpt.path}: this checkpoint's manifest is not the one {export_dir} was exported from "
            f"(parent sha256 {manifest.parent.sha256[:12]}...); pass the source checkpoint"
        )
    normalisation = manifest.settings.get("image_normalisation")
    report = _parity(
        ckpt, export_dir / manifest.settings["components"]["litertlm"], prompts, parity_prompts,
        bool(manifest.settings.get("vision")), int(manifest.settings["kv_cache_max_len"]), max_new_tokens,
        threshold, normalisation,
    )  # fmt: skip
    if record:
        manifest.results["parity"] = report
        write_manifest(manifest, export_dir)
    if not report["passed"]:
        raise _parity_failure(export_dir, report)
    return report
