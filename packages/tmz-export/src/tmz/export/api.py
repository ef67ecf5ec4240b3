"""``export`` and ``verify``: checkpoint -> checked, converted, parity-tested export directory."""

from __future__ import annotations

import itertools
import tempfile
from collections.abc import Iterable, Sequence
from importlib.metadata import version
from pathlib import Path
from typing import Any, Literal, get_args

from rich.console import Console

from tmz.core.atomic import atomic_directory, check_output, write_text_atomic
from tmz.core.dataset import split_path
from tmz.core.errors import ManifestError
from tmz.core.kinds.base import ImageNormalisation
from tmz.core.kinds.export import (
    Components,
    Converter,
    ExportResults,
    ExportSettings,
    ModelDtype,
    Recipes,
    SourceCheckpoint,
)
from tmz.core.manifest import (
    MANIFEST_NAME,
    ExportManifest,
    Producer,
    find_parent,
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
from tmz.export.isolated import convert_isolated
from tmz.export.llm import llm_metadata
from tmz.export.options import DEFAULTS
from tmz.export.parts import checkpoint_parts, describe_parts
from tmz.export.prompts import ParityPrompt, builtin, coerce, from_dataset
from tmz.export.recipes import recipe_for
from tmz.export.resources import measure
from tmz.export.signatures import default_prefill_lengths
from tmz.export.tolerances import Tolerance, tolerance_for

Vision = Literal["auto"] | bool
PARITY_SPLIT = "test"
PIXEL_INPUT = "RGB channel-last in [0, 1]; the vision encoder applies image_normalisation"
console = Console(stderr=True, highlight=False)


def _use_vision(ckpt: Checkpoint, vision: Vision) -> bool:
    if vision == "auto":
        return ckpt.backend.vision
    if vision and not ckpt.backend.vision:
        raise ExportError(f"{ckpt.path}: backend {ckpt.backend.name!r} has no vision tower; drop vision=True")
    return bool(vision)


def _check_conversion(ckpt: Checkpoint, model_dtype: str, converter: str) -> None:
    for name, value, accepted in (("model_dtype", model_dtype, get_args(ModelDtype)),
                                  ("converter", converter, get_args(Converter))):  # fmt: skip
        if value not in accepted:
            raise ExportError(f"unknown {name} {value!r}; use one of {', '.join(accepted)}")
    if ckpt.backend.refuse_export is not None:  # the family's own known-broken conversions
        ckpt.backend.refuse_export(ckpt.path, ckpt.config)
    if converter.startswith("v2") and ckpt.backend.export_task != "text_generation":
        raise ExportError(
            f"{ckpt.path}: converter {converter!r} (litert-torch's use_v2) converts text_generation models only, "
            f"and backend {ckpt.backend.name!r} exports {ckpt.backend.export_task}; use converter v1 or "
            "v1-lightweight"
        )
    if model_dtype != "float32" and not converter.startswith("v2"):
        raise ExportError(
            f"model_dtype {model_dtype!r} needs converter v2 or v2-streaming: litert-torch's v1 converter cannot "
            "lower bfloat16 weights (unsupported ScalarType BFloat16); use model_dtype float32 with it"
        )


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


def run_checks(ckpt: Checkpoint) -> tuple[dict[str, Any], Any, ImageNormalisation | None]:
    """Every pre-conversion check, in order (each raises its named error); returns the report, the tokenizers
    and, for a vision checkpoint, its image normalisation."""
    checks: dict[str, Any] = {
        "architecture": {"architecture": ckpt.architecture, "backend": ckpt.backend.name}
    }
    normalisation = None
    with console.status("checking the checkpoint (tokenizer, chat template, vocabulary)"):
        tok = load_tokenizers(ckpt)
        checks["vocabulary"] = check_vocabulary(ckpt, tok)
        checks["tokenizer"] = check_tokenizer(ckpt, tok)
        checks["chat_template"] = check_chat_template(ckpt, tok)
        if ckpt.backend.vision:
            normalisation = check_vision_normalisation(ckpt)
            checks["vision_normalisation"] = normalisation.model_dump()
    return checks, tok, normalisation


def select_prompts(
    ckpt: Checkpoint,
    given: Iterable[Any] | None,
    n: int,
    vision: bool,
    image_dir: Path,
    image_size: tuple[int, int],
) -> tuple[list[ParityPrompt], str]:
    """Parity prompts: the given ones, else the test split of the dataset the checkpoint's lineage leads to (found
    by hash), else built-in; text and image prompts interleaved (images only for vision exports), at most ``n``."""
    registry = get_registry()
    if given is not None:
        prompts, source = coerce(registry, given), "given"
    elif (dataset := ckpt.dataset()) is not None and split_path(dataset, PARITY_SPLIT).is_file():
        prompts, source = from_dataset(registry, dataset, PARITY_SPLIT), f"dataset test split ({dataset})"
    else:
        prompts, source = builtin(registry, vision, image_dir, image_size), "built-in"
    texts = [p for p in prompts if p.image is None]
    images = [p for p in prompts if p.image is not None] if vision else []
    mixed = [p for pair in itertools.zip_longest(texts, images) for p in pair if p is not None]
    if not mixed:
        raise ExportError(f"no usable parity prompts ({source}); give text prompts (dataset rows)")
    return mixed[:n], source


def _parity(
    ckpt: Checkpoint, export_dir: Path, components: Components, prompts: Iterable[Any] | None, n: int,
    vision: bool, kv_cache: int, max_new_tokens: int, tolerance: Tolerance, normalisation: ImageNormalisation | None,
) -> ParityReport:  # fmt: skip
    from tmz.export.parity import run_parity

    if components.litertlm is None:
        raise ExportError(
            f"{export_dir}: the export has no litertlm component (litert-torch's .litertlm), which the parity "
            "check runs; re-export the model with tmz export"
        )
    size = (normalisation.image_size[1], normalisation.image_size[0]) if normalisation else (0, 0)
    with tempfile.TemporaryDirectory(prefix="tmz-prompts-") as tmp:
        chosen, source = select_prompts(ckpt, prompts, n, vision, Path(tmp), size)
        console.print(f"parity: {len(chosen)} prompts ({source}), greedy, up to {max_new_tokens} new tokens")
        encoder = components.vision_encoder
        return run_parity(
            ckpt, export_dir / components.litertlm, chosen, vision=vision, max_num_tokens=kv_cache,
            max_new_tokens=max_new_tokens, tolerance=tolerance, prompt_source=source,
            vision_encoder=export_dir / encoder if encoder else None,
        )  # fmt: skip


def export(
    model: str | Path,
    out: str | Path,
    quantization: str = DEFAULTS.quantization,
    prefill_lengths: Sequence[int] | None = DEFAULTS.prefill_lengths,
    kv_cache: int = DEFAULTS.kv_cache,
    model_dtype: str = DEFAULTS.model_dtype,
    converter: str = DEFAULTS.converter,
    isolate: bool = DEFAULTS.isolate,
    vision: Vision = "auto",
    parity: bool = DEFAULTS.parity,
    prompts: Iterable[Any] | None = None,
    parity_prompts: int = DEFAULTS.parity_prompts,
    max_new_tokens: int = DEFAULTS.max_new_tokens,
    tolerance: Tolerance | None = None,
    backend: str | None = None,
    overwrite: bool = False,
) -> ExportManifest:
    """Export a merged checkpoint (``model``: a model artifact or a plain Hugging Face directory) into ``out``.

    Checks the checkpoint first (architecture and vocabulary against its backend, SentencePiece tokenizer parity,
    chat template on list content, vision normalisation), converts it with litert-torch (quantization ``int8``,
    ``int4``, ``fp16`` or ``fp32``; one prefill signature per length, by default the ladder of
    :func:`~tmz.export.signatures.default_prefill_lengths`; KV cache of ``kv_cache`` tokens; the model loaded in
    ``model_dtype`` and converted by litert-torch's ``converter``, see ExportOptions; in a child process unless
    ``isolate=False``; the vision encoder for vision backends unless ``vision=False``), and unless
    ``parity=False`` compares greedy answers of PyTorch and LiteRT-LM on ``parity_prompts`` prompts
    (:mod:`tmz.export.parity`; ``tolerance`` defaults to the quantization's measured one). The option defaults are :class:`~tmz.export.options.ExportOptions`'
    (``export(model, out, **options.model_dump())``).

    Parity prompts are passed in explicitly as ``prompts`` (ParityPrompts, dataset-like rows or (source, target,
    input) triples). When none are given, they come from the test split of the dataset the checkpoint's manifest
    lineage leads to (each parent found by hash), else from the built-in sentences and synthetic images of
    :mod:`tmz.export.prompts`; the report's ``prompt_source`` says which.

    A plain checkpoint gets a model manifest describing what was found. The export is written even when parity
    fails (the manifest records the report); then ParityError is raised. ``out`` replaces only an export tmz
    wrote, unless ``overwrite``, and never the checkpoint (OutputError).
    """
    recipe = recipe_for(quantization)
    check_output(out, "export", overwrite=overwrite, inputs=[model])
    ckpt = open_checkpoint(model, backend)
    use_vision = _use_vision(ckpt, vision)
    _check_conversion(ckpt, model_dtype, converter)
    prefill_lengths = default_prefill_lengths(kv_cache) if prefill_lengths is None else list(prefill_lengths)
    _check_lengths(ckpt, prefill_lengths, kv_cache)
    checks, tok, normalisation = run_checks(ckpt)
    plain = ckpt.manifest is None
    ckpt = describe(ckpt, normalisation)
    llm = llm_metadata(ckpt, tok.hf)
    out = Path(out)

    source = ckpt.manifest
    # no manifest to point at: the export keeps what was found in the checkpoint
    described = (
        SourceCheckpoint(path=str(ckpt.path), described=source.model_dump(mode="json")) if plain else None
    )
    with atomic_directory(out, "export", overwrite=overwrite, inputs=[ckpt.path]) as tmp:
        console.print(f"converting {ckpt.path} ({ckpt.backend.name}, {quantization}) with litert-torch")
        with measure() as usage:  # this process and its children
            if isolate:
                components = convert_isolated(ckpt, tmp, quantization, prefill_lengths, kv_cache, use_vision,
                                              normalisation, model_dtype, converter)  # fmt: skip
            else:
                from tmz.export.convert import convert  # litert-torch takes a minute to import

                components = convert(ckpt, tmp, recipe, prefill_lengths, kv_cache, use_vision, normalisation,
                                     model_dtype=model_dtype, converter=converter)  # fmt: skip
        console.print(f"converted in {usage.seconds:.0f} s, peak memory {usage.peak_rss_mb:.0f} MB")
        settings = ExportSettings(
            quantization=quantization,
            recipes=Recipes(llm=recipe.llm, vision=recipe.vision if use_vision else None),
            prefill_lengths=prefill_lengths,
            kv_cache_max_len=kv_cache,
            export_task=ckpt.backend.export_task,
            vision=use_vision,
            components=components,
            llm=llm,
            litert_torch=version("litert-torch"),
            model_dtype=model_dtype,
            converter=converter,
            source_checkpoint=described,
            image_normalisation=normalisation if use_vision else None,
            pixel_input=PIXEL_INPUT if use_vision else None,
        )
        files = list_files(tmp)  # before parity: nothing LiteRT-LM leaves behind belongs to the export
        parts = checkpoint_parts(ckpt, use_vision)
        if parts is not None:
            console.print(f"checkpoint parts: {describe_parts(parts)}")
        report = None
        if parity:
            report = _parity(ckpt, tmp, components, prompts, parity_prompts, use_vision, kv_cache,
                             max_new_tokens, tolerance or tolerance_for(quantization), normalisation)  # fmt: skip
        manifest = ExportManifest(
            name=out.name, producer=Producer.of("tmz-export"), parent=None if plain else parent_ref(ckpt.path, out),
            backend=ckpt.backend.name, files=files, **source.coverage(), settings=settings,
            results=ExportResults(checks=checks, export=usage.usage(), parity=report, parts=parts),
        )  # fmt: skip
        write_manifest(manifest, tmp)
    if report is not None and not report.passed:
        raise parity_failure(
            out, report, quantization, f"the whole report: results.parity in {out}/{MANIFEST_NAME}"
        )
    return manifest


def source_model(export_dir: Path, manifest: ExportManifest) -> Path:
    """The checkpoint an export was made from: its parent, found from the export directory and checked by hash
    (so export and model may move together); ExportError when it is not there any more or was replaced."""
    if manifest.parent is None:
        raise ExportError(
            f"{export_dir}: the manifest names no source checkpoint (it was exported from a plain checkpoint); "
            "pass the model directory (tmz export verify --model DIR)"
        )
    try:
        return find_parent(manifest, export_dir)
    except ManifestError as e:
        raise ExportError(f"{e} (tmz export verify --model DIR)") from e


def verify(
    export_dir: str | Path,
    model: str | Path | None = None,
    prompts: Iterable[Any] | None = None,
    parity_prompts: int = DEFAULTS.parity_prompts,
    max_new_tokens: int = DEFAULTS.max_new_tokens,
    tolerance: Tolerance | None = None,
    report_file: str | Path | None = None,
) -> ParityReport:
    """Re-run the parity check of an export against a checkpoint (``model``, default: the export's parent, found
    by its manifest's hash).

    ``prompts`` are chosen as by :func:`export` (given explicitly, else the lineage dataset's test split, else
    built in). The export is left untouched; with ``report_file`` the report is also written there (JSON).
    Raises ParityError when parity fails.
    """
    export_dir = Path(export_dir)
    manifest: ExportManifest = load_manifest(export_dir, expect_kind="export")
    s = manifest.settings
    ckpt = open_checkpoint(source_model(export_dir, manifest) if model is None else model, manifest.backend)
    report = _parity(
        ckpt, export_dir, s.components, prompts, parity_prompts, s.vision, s.kv_cache_max_len, max_new_tokens,
        tolerance or tolerance_for(s.quantization), s.image_normalisation,
    )  # fmt: skip
    if report_file is not None:
        write_text_atomic(Path(report_file), report.model_dump_json(indent=2) + "\n")
    if not report.passed:
        kept = (
            f"the whole report: {report_file}" if report_file else "keep the whole report with --report FILE"
        )
        raise parity_failure(export_dir, report, s.quantization, kept)
    return report
