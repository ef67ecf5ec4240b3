"""``export`` and ``verify``: checkpoint -> checked, converted, parity-tested export directory."""

from __future__ import annotations

import itertools
import tempfile
from collections.abc import Iterable, Sequence
from importlib.metadata import version
from pathlib import Path
from typing import Any, Literal

from rich.console import Console

from tmz.core.atomic import atomic_directory, write_text_atomic
from tmz.core.manifest import (
    MANIFEST_NAME,
    ExportManifest,
    Producer,
    list_files,
    load_manifest,
    parent_ref,
    write_manifest,
)
from tmz.core.parity import ParityReport
from tmz.core.plugins import get_registry
from tmz.export.checkpoint import Checkpoint, describe, open_checkpoint
from tmz.export.checks import (
    check_chat_template,
    check_tokenizer,
    check_vision_normalisation,
    check_vocabulary,
    load_tokenizers,
)
from tmz.export.diagnosis import parity_failure
from tmz.export.errors import ExportError
from tmz.export.llm import llm_metadata
from tmz.export.prompts import ParityPrompt, builtin, coerce, from_dataset
from tmz.export.recipes import recipe_for
from tmz.export.resources import measure
from tmz.export.signatures import default_prefill_lengths
from tmz.export.tolerances import Tolerance, tolerance_for

Vision = Literal["auto"] | bool
DEFAULT_KV_CACHE = 1024
DEFAULT_PARITY_PROMPTS = 8
DEFAULT_MAX_NEW_TOKENS = 32
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
    ckpt: Checkpoint, export_dir: Path, components: dict[str, str], prompts: Iterable[Any] | None, n: int,
    vision: bool, kv_cache: int, max_new_tokens: int, tolerance: Tolerance, normalisation: dict[str, Any] | None,
) -> ParityReport:  # fmt: skip
    from tmz.export.parity import run_parity

    size = tuple(normalisation["image_size"][::-1]) if normalisation else (0, 0)
    with tempfile.TemporaryDirectory(prefix="tmz-prompts-") as tmp:
        chosen, source = select_prompts(ckpt, prompts, n, vision, Path(tmp), size)
        console.print(f"parity: {len(chosen)} prompts ({source}), greedy, up to {max_new_tokens} new tokens")
        encoder = components.get("vision_encoder")
        return run_parity(
            ckpt, export_dir / components["litertlm"], chosen, vision=vision, max_num_tokens=kv_cache,
            max_new_tokens=max_new_tokens, tolerance=tolerance, prompt_source=source,
            vision_encoder=export_dir / encoder if encoder else None,
        )  # fmt: skip


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
    tolerance: Tolerance | None = None,
    backend: str | None = None,
) -> ExportManifest:
    """Export a merged checkpoint (``model``: a model artifact or a plain Hugging Face directory) into ``out``.

    Checks the checkpoint first (architecture and vocabulary against its backend, SentencePiece tokenizer parity,
    chat template on list content, vision normalisation), converts it with litert-torch (quantization ``int8``,
    ``int4``, ``fp16`` or ``fp32``; one prefill signature per length, by default the ladder of
    :func:`~tmz.export.signatures.default_prefill_lengths`; KV cache of ``kv_cache`` tokens; the vision encoder
    for vision backends unless ``vision=False``), and unless ``parity=False`` compares greedy answers of
    PyTorch and LiteRT-LM (:mod:`tmz.export.parity`; ``tolerance`` defaults to the quantization's measured one).
    A plain checkpoint gets a model manifest describing what was found.

    The export is written even when parity fails (the manifest records the report); then ParityError is raised.
    """
    recipe = recipe_for(quantization)
    ckpt = open_checkpoint(model, backend)
    use_vision = _use_vision(ckpt, vision)
    prefill_lengths = default_prefill_lengths(kv_cache) if prefill_lengths is None else list(prefill_lengths)
    _check_lengths(ckpt, prefill_lengths, kv_cache)
    checks, tok = run_checks(ckpt)
    normalisation = checks.get("vision_normalisation")
    plain = ckpt.manifest is None
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
        if plain:  # no manifest to point at: the export keeps what was found in the checkpoint
            settings["source_checkpoint"] = {
                "path": str(ckpt.path),
                "described": source.model_dump(mode="json"),
            }
        if use_vision:
            settings["image_normalisation"] = normalisation
            settings["pixel_input"] = (
                "RGB channel-last in [0, 1]; the vision encoder applies image_normalisation"
            )
        manifest = ExportManifest(
            name=out.name, producer=Producer.of("tmz-export"), parent=None if plain else parent_ref(ckpt.path),
            backend=ckpt.backend.name, files=list_files(tmp), **source.coverage(), settings=settings, results={"checks": checks, "export": usage.as_dict()},
        )  # fmt: skip
        report = None
        if parity:
            report = _parity(ckpt, tmp, components, prompts, parity_prompts, use_vision, kv_cache,
                             max_new_tokens, tolerance or tolerance_for(quantization), normalisation)  # fmt: skip
            manifest.results["parity"] = report.model_dump(mode="json")
        write_manifest(manifest, tmp)
    if report is not None and not report.passed:
        raise parity_failure(
            out, report, quantization, f"the whole report: results.parity in {out}/{MANIFEST_NAME}"
        )
    return manifest


def verify(
    export_dir: str | Path,
    model: str | Path | None = None,
    prompts: Iterable[Any] | None = None,
    parity_prompts: int = DEFAULT_PARITY_PROMPTS,
    max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS,
    tolerance: Tolerance | None = None,
    report_file: str | Path | None = None,
) -> ParityReport:
    """Re-run the parity check of an export against a checkpoint (``model``, default: the export's parent).

    The export is left untouched; with ``report_file`` the report is also written there (JSON). Raises
    ParityError when parity fails.
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
    normalisation = manifest.settings.get("image_normalisation")
    quantization = manifest.settings["quantization"]
    report = _parity(
        ckpt, export_dir, manifest.settings["components"], prompts, parity_prompts,
        bool(manifest.settings.get("vision")), int(manifest.settings["kv_cache_max_len"]), max_new_tokens,
        tolerance or tolerance_for(quantization), normalisation,
    )  # fmt: skip
    if report_file is not None:
        write_text_atomic(Path(report_file), report.model_dump_json(indent=2) + "\n")
    if not report.passed:
        kept = (
            f"the whole report: {report_file}" if report_file else "keep the whole report with --report FILE"
        )
        raise parity_failure(export_dir, report, quantization, kept)
    return report
