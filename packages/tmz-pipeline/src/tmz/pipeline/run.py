"""The chain prepare -> finetune -> evaluate -> merge -> export -> bundle -> translate, skipping what is up to date."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from tmz.core.atomic import write_text_atomic
from tmz.core.dataset import Example, read_split
from tmz.core.errors import ConfigError
from tmz.core.kinds.adapter import AdapterResults
from tmz.core.kinds.model import Fidelity
from tmz.core.manifest import MANIFEST_NAME, AdapterManifest, ModelManifest, load_manifest, manifest_hash
from tmz.core.scoring import Evaluation
from tmz.core.units import human_size
from tmz.export.options import ExportOptions
from tmz.pipeline.capture import capture_output
from tmz.pipeline.config import PipelineConfig, Sample
from tmz.pipeline.progress import StageProgress, terminal_console
from tmz.pipeline.state import PipelineState, fingerprint, source_hashes

if TYPE_CHECKING:
    from tmz.runtime.translation import Origin

T = TypeVar("T")


@dataclass
class StageResult:
    stage: str
    status: str  # "ran" or "skipped"
    seconds: float
    artifact: Path
    size: int


@dataclass
class TranslationResult:
    bundle: Path
    sample: Sample
    text: str
    origin: Origin
    seconds: float


@dataclass
class PipelineReport:
    workdir: Path
    stages: list[StageResult] = field(default_factory=list)
    evaluation: Evaluation | None = None
    training: AdapterResults | None = None  # the adapter manifest's results
    fidelity: Fidelity | None = None  # the merged model's fidelity to the trained one
    bundles: list[Path] = field(default_factory=list)
    translations: list[TranslationResult] = field(default_factory=list)


def artifact_size(manifest_file: Path) -> int:
    """Bytes of every file a manifest lists."""
    return sum(f.size for f in load_manifest(manifest_file, verify=False).files)


#: The stages in order, as ``until`` names them (``bundle``: every bundle format).
STAGES = ("prepare", "finetune", "merge", "evaluate", "export", "bundle", "translate")


class Runner:
    """Runs stages in order; a stage whose inputs, settings and output are unchanged is skipped.

    Unless ``verbose``, each stage's library output goes to ``<workdir>/logs/<stage>.log`` and the console
    shows one line per stage.
    """

    def __init__(self, workdir: Path, console: Console, force: bool = False, verbose: bool = False) -> None:
        self.workdir = workdir
        self.state = PipelineState(workdir)
        self.console = console
        self.force = force
        self.verbose = verbose
        self.progress = StageProgress(console)
        self.report = PipelineReport(workdir)

    def log_path(self, name: str) -> Path:
        return self.workdir / "logs" / f"{name.replace(' ', '-')}.log"

    def step(self, name: str, fn: Callable[[], T]) -> T:
        """Run ``fn``: under a rule (verbose), or with its output in the stage's log and a progress line."""
        if self.verbose:
            self.console.rule(f"[bold]{name}")
            return fn()
        log = self.log_path(name)
        with self.progress.running(name, log), capture_output(log):
            return fn()

    def stage(self, name: str, inputs: Any, output: Path, build: Callable[[], Any]) -> Path:
        """Run ``build`` unless ``output`` (a manifest or result file) is up to date with ``inputs``."""
        key = fingerprint(inputs)
        start = time.perf_counter()
        if not self.force and self.state.up_to_date(name, key):
            status = "skipped"
            output = Path(self.state.records[name].output)
            if self.verbose:
                self.console.print(f"[dim]{name}: up to date, skipped[/]")
            else:
                self.progress.skipped(name)
        else:
            result = self.step(name, build)
            output = Path(result) if isinstance(result, (str, Path)) else output
            self.state.record(name, key, output)
            status = "ran"
        size = artifact_size(output) if output.name.endswith(MANIFEST_NAME) else output.stat().st_size
        self.report.stages.append(StageResult(name, status, time.perf_counter() - start, output, size))
        return output


def run_pipeline(
    config: PipelineConfig,
    *,
    force: bool = False,
    console: Console | None = None,
    verbose: bool = False,
    until: str | None = None,
) -> PipelineReport:
    """Run the whole chain of ``config`` in its work directory; returns what ran, what was skipped, and the answers.

    ``verbose``: library output on the terminal, as the libraries print it (otherwise in ``<workdir>/logs``).
    ``until``: the last stage to run (one of :data:`STAGES`).
    """
    if until is not None and until not in STAGES:
        raise ConfigError(f"unknown stage {until!r} to run until: choose one of {', '.join(STAGES)}")
    with contextlib.ExitStack() as stack:
        if console is None:
            console = Console(stderr=True) if verbose else stack.enter_context(terminal_console())
        work = Path(config.pipeline.workdir)
        work.mkdir(parents=True, exist_ok=True)
        run = Runner(work, console, force, verbose)
        if not verbose:
            run.progress.say(f"[dim]library output goes to {escape(str(work / 'logs'))} (--verbose: here)[/]")
        _chain(run, config, STAGES[: STAGES.index(until) + 1] if until else STAGES)
        return run.report


def _chain(run: Runner, c: PipelineConfig, stages: tuple[str, ...]) -> None:
    """The stages of ``c`` named in ``stages``, in order (the packages load inside each stage, so into its log)."""
    work = run.workdir
    data_dir, adapter_dir, model_dir, export_dir = (work / n for n in ("data", "adapter", "model", "export"))

    def _prepare() -> Any:
        from tmz.data import prepare

        return prepare(c.data.sources, data_dir, options=c.data.options)

    run.stage(
        "prepare",
        {"sources": source_hashes(c.data.sources), "options": c.data.options.model_dump(mode="json")},
        data_dir / MANIFEST_NAME,
        _prepare,
    )
    write_card(data_dir)
    if "finetune" not in stages:
        return

    def _finetune() -> Any:
        from tmz.train import finetune

        return finetune(data_dir, backend=c.train.backend, out=adapter_dir, config=c.train.config,
                        overrides=c.train.overrides)  # fmt: skip

    train_inputs = {
        "dataset": manifest_hash(data_dir),
        "backend": c.train.backend,
        "config": source_hashes([c.train.config]) if c.train.config else None,
        "overrides": c.train.overrides,
    }
    run.stage("finetune", train_inputs, adapter_dir / MANIFEST_NAME, _finetune)
    write_card(adapter_dir)
    run.report.training = load_manifest(adapter_dir, expect_kind=AdapterManifest, verify=False).results
    if "merge" not in stages:
        return

    def _merge() -> Any:
        from tmz.train import merge

        return merge(adapter_dir, model_dir)

    run.stage("merge", {"adapter": manifest_hash(adapter_dir)}, model_dir / MANIFEST_NAME, _merge)
    run.report.fidelity = load_manifest(model_dir, expect_kind=ModelManifest, verify=False).results.fidelity
    if c.eval.enabled and "evaluate" in stages:
        report_file = work / "evaluation.json"

        def _evaluate() -> Path:
            from tmz.train import evaluate

            limit = {"eval.max_samples": c.eval.max_rows} if c.eval.max_rows else None
            report = evaluate(model_dir, data_dir, split=c.eval.split, overrides=limit)
            write_text_atomic(report_file, report.model_dump_json(indent=2) + "\n")
            return report_file

        run.stage("evaluate", {"model": manifest_hash(model_dir), "dataset": manifest_hash(data_dir),
                               "split": c.eval.split, "max_rows": c.eval.max_rows}, report_file,
                  _evaluate)  # fmt: skip
        run.report.evaluation = Evaluation.model_validate_json(report_file.read_text(encoding="utf-8"))
    write_card(model_dir, run.report.evaluation)
    if "export" not in stages:
        return
    x = c.export

    def _export() -> Any:
        from tmz.core.plugins import get_registry
        from tmz.export import export
        from tmz.export.prompts import from_example

        rows = dataset_rows(data_dir, x.parity_split, x.parity_prompts, learned_ids(run.report.training,
                            x.parity_split))  # fmt: skip
        prompts = [from_example(get_registry(), ex, data_dir) for ex in rows]
        options = x.model_dump(include=set(ExportOptions.model_fields))
        return export(model_dir, export_dir, prompts=prompts, **options, **x.options)

    run.stage("export", {"model": manifest_hash(model_dir), "settings": x.model_dump()},
              export_dir / MANIFEST_NAME, _export)  # fmt: skip
    write_card(export_dir, run.report.evaluation)
    if "bundle" not in stages:
        return
    dist = work / "dist"
    for fmt in c.bundle.formats:

        def _bundle(fmt: str = fmt) -> Path:
            from tmz.bundle import bundle

            manifest = bundle(export_dir, fmt=fmt, out=dist, name=c.pipeline.name)
            return dist / f"{manifest.files[0].path}.{MANIFEST_NAME}"

        out = run.stage(f"bundle {fmt}", {"export": manifest_hash(export_dir), "name": c.pipeline.name},
                        dist / f"{fmt}.{MANIFEST_NAME}", _bundle)  # fmt: skip
        run.report.bundles.append(dist / load_manifest(out, verify=False).files[0].path)
        write_card(run.report.bundles[-1], run.report.evaluation)
    if "translate" not in stages:
        return
    samples = list(c.translate.samples)
    if c.translate.from_split:
        only = learned_ids(run.report.training, c.translate.from_split)
        rows = dataset_rows(data_dir, c.translate.from_split, c.translate.rows, only)
        samples += [sample_of(ex, data_dir) for ex in rows]
    run.report.translations = run.step("translate", lambda: translate_samples(run.report.bundles, samples))


def write_card(artifact: Path, evaluation: Evaluation | None = None) -> Path:
    """Write the artifact's Hugging Face Hub card beside it (README.md; ``<file>.README.md`` for a bundle), made
    from its manifests by tmz-publish and checked offline."""
    from tmz.publish import write_card as write

    return write(artifact, evaluation=evaluation)


def learned_ids(results: AdapterResults | None, split: str) -> set[str] | None:
    """Ids of the rows of ``split`` the fine-tune learned (``results``: the adapter manifest's): recalled exactly by
    greedy decoding with every answer token leading its runner-up by the margin it trained for
    (``training.learned_margin``). None when the adapter did not check that split: then every row counts."""
    if results is None or results.recall is None or results.learned is None or results.recall.split != split:
        return None
    margin = results.learned.margin
    return {m.id for m in results.recall.margins if m.recalled and m.margin >= margin}


def dataset_rows(dataset: Path, split: str, limit: int, only: set[str] | None = None) -> list[Example]:
    """The first ``limit`` examples of a dataset split (only those whose id is in ``only``, when given)."""
    return [ex for ex in read_split(dataset, split) if only is None or ex.id in only][:limit]


def sample_of(example: Example, dataset: Path) -> Sample:
    """A translation sample from a dataset example (its image relative to ``dataset``), its target text as the
    expected answer."""
    known = example.source_known
    return Sample(
        text=example.source_text, image=dataset / example.image if example.image else None,
        src=example.source_language if known else None, tgt=example.target_language,
        script=example.target_script, src_script=example.source_script if known else None,
        dialect=example.dialect, expected=example.target_text,
    )  # fmt: skip


def translate_samples(bundles: list[Path], samples: list[Sample]) -> list[TranslationResult]:
    """Translate every sample through every bundle that can take it (image samples need a vision bundle)."""
    from tmz.runtime import Translator

    results = []
    for path in bundles:
        with Translator(path) as translator:
            vision = "image" in translator.bundle.manifest.settings.modalities
            for s in samples:
                if s.image is not None and not vision:
                    continue
                start = time.perf_counter()
                if s.image is not None:
                    t = translator.translate_image(
                        s.image, s.tgt, src=s.src, script=s.script, dialect=s.dialect
                    )
                else:
                    t = translator.translate(s.text or "", s.src or "en", s.tgt, script=s.script,
                                             dialect=s.dialect, src_script=s.src_script)  # fmt: skip
                results.append(TranslationResult(path, s, t.text, t.origin, time.perf_counter() - start))
    return results


def print_report(report: PipelineReport, console: Console | None = None) -> None:
    """The summary table: stage, status, seconds, artifact size and where it is; then the translations."""
    console = console or Console()
    table = Table(title=f"tmz pipeline in {report.workdir}", title_justify="left")
    for col in ("stage", "status", "seconds", "size", "artifact"):
        table.add_column(col, justify="right" if col in ("seconds", "size") else "left", overflow="fold")
    for s in report.stages:
        where = s.artifact.parent if s.artifact.name == MANIFEST_NAME else s.artifact
        table.add_row(s.stage, s.status, f"{s.seconds:.1f}", human_size(s.size), str(where))
    console.print(table)
    if line := learning_line(report.training):
        console.print(line)
    if (f := report.fidelity) is not None:
        console.print(f"merge ({f.weights} weights) vs the trained model ({f.reference}): {f.exact}/{f.prompts} "
                      f"greedy answers identical, |delta log p| max {f.max_abs_delta:.4f} mean {f.mean_abs_delta:.4f}")  # fmt: skip
    if report.evaluation is not None:
        o = report.evaluation.overall
        console.print(f"evaluation ({report.evaluation.split} split, PyTorch): {o.rows} rows, chrF++ {o.chrf:.1f}, "
                      f"BLEU {o.bleu:.1f}, exact {o.exact:.2f}")  # fmt: skip
    for b in report.bundles:
        console.print(f"bundle: {b}")
    if report.translations:
        t = Table(title="translations through the bundles (LiteRT-LM)", title_justify="left")
        for col in ("bundle", "input", "direction", "output", "expected", "from"):
            t.add_column(col, overflow="fold")
        for r in report.translations:
            s = r.sample
            direction = f"{s.src or 'image'} -> {s.tgt}{'_' + s.script if s.script else ''}"
            mark = "" if s.expected is None else ("= " if r.text == s.expected else "!= ") + s.expected
            t.add_row(r.bundle.suffix, str(s.text or s.image), direction, r.text, mark, r.origin)
        console.print(t)


def learning_line(results: AdapterResults | None) -> str | None:
    """How training until learned went, in a sentence (None when the fine-tune did not train until learned)."""
    if results is None or results.learned is None or results.recall is None:
        return None
    learned, recall = results.learned, results.recall
    margin = f"every answer token {learned.margin:g}+ logits ahead"
    if learned.reached and recall.exact == recall.rows:
        smallest = "" if learned.min_margin is None else f"; smallest margin {learned.min_margin:.2f}"
        return (f"learned: all {recall.rows} {recall.split} phrases recalled exactly after {learned.step} "
                f"steps ({margin}{smallest})")  # fmt: skip
    return (f"learned: {recall.exact} of {recall.rows} {recall.split} phrases recalled after "
            f"{results.global_step} steps (the cap; {margin} not reached on all); parity and the translations "
            "below use only the phrases learned")  # fmt: skip
