"""`tmz demo`: the embedded default pipeline on the tiny local backend and the project's example corpus."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from tmz.core.errors import ConfigError
from tmz.core.kinds.dataset import PrepareOptions
from tmz.pipeline.config import (
    BundleSection,
    DataSection,
    EvalSection,
    ExportSection,
    PipelineConfig,
    PipelineSection,
    Sample,
    TrainSection,
    TranslateSection,
)

#: The example corpus in a tmz checkout (its one copy; the wheel carries it as package data, see hatch_build.py).
CORPUS = Path("examples") / "corpus" / "phrases.csv"
#: Where the wheel puts it, inside the ``tmz.pipeline`` package.
PACKAGE_CORPUS = "data/phrases.csv"
#: The checkout this module runs from (the workspace's editable install): src/tmz/pipeline -> repository root.
CHECKOUT = next(iter(Path(__file__).resolve().parents[5:6]), Path.cwd())
#: What the tiny model learns: English to Tifinagh Tamazight.
DIRECTIONS = ["en_Latn->zgh_Tfng"]
#: Settings under which the 2-layer tiny model learns its training split (68 phrases): it trains until every
#: answer token leads its runner-up by LEARNED_MARGIN logits (measured every 100 steps), at most 2,000 steps of a
#: cosine schedule. Measured on a 2-core AVX-512 machine: every phrase learned at step 1,100 (smallest margin
#: 2.3), ~140 s; bench/demo_robustness.py records other kernels, thread counts and seeds. Should the cap come
#: first, parity and the printed translations use only the phrases learned (the adapter manifest lists them).
LEARNED_MARGIN = 1.0
TRAIN_OVERRIDES = {
    "lora.r": 64,
    "lora.alpha": 128,
    "lora.dropout": 0.0,
    "training.max_steps": 2000,
    "training.learned_margin": LEARNED_MARGIN,
    "training.learned_check_steps": 100,
    "training.per_device_batch_size": 16,
    "training.gradient_accumulation_steps": 1,
    "training.learning_rate": 1e-2,
    "training.lr_scheduler": "cosine",
    "training.warmup_ratio": 0.0,
    "training.max_length": 256,
    "training.packing": False,
    "training.gradient_checkpointing": False,
    "training.save_steps": 500,
    "training.logging_steps": 100,
    "data.eval_split": None,
    "eval.after_training": False,
}
#: Asked in Latin script: the model answers in Tifinagh and the runtime transliterates at the edge (IRCAM).
SAMPLES = [Sample(text="Call the police.", src="en", tgt="zgh", script="Latn")]


def find_corpus(checkout: Path | None = None) -> Path:
    """The example corpus: tmz-pipeline's package data, else ``checkout``'s (default: this module's checkout)."""
    packaged = resources.files("tmz.pipeline").joinpath(PACKAGE_CORPUS)
    if isinstance(packaged, Path) and packaged.is_file():
        return packaged
    root = checkout or CHECKOUT
    if (root / CORPUS).is_file():
        return root / CORPUS
    raise ConfigError(
        f"the example corpus is neither installed with tmz-pipeline ({PACKAGE_CORPUS}) nor in a checkout at "
        f"{root / CORPUS}: reinstall tmz-pipeline, or pass --corpus FILE"
    )


#: The training seed the demo's measurements used (tiny base weights and data order).
SEED = 42


def demo_config(workdir: Path, corpus: Path, seed: int = SEED) -> PipelineConfig:
    """The demo's pipeline: tiny backend, the example corpus, int8 export with parity, both bundle formats;
    ``seed`` seeds the tiny base and training (the data split stays the same)."""
    return PipelineConfig(
        pipeline=PipelineSection(name="tmz-demo", workdir=workdir),
        data=DataSection(
            sources=[corpus], options=PrepareOptions(directions=DIRECTIONS, test_ratio=0.1, seed=0)
        ),
        train=TrainSection(backend="tiny", overrides={**TRAIN_OVERRIDES, "training.seed": seed}),
        eval=EvalSection(split="test"),
        export=ExportSection(quantization="int8", prefill_lengths=[64], kv_cache=256, parity_split="train"),
        bundle=BundleSection(formats=["task", "litertlm"]),
        translate=TranslateSection(samples=SAMPLES, from_split="train", rows=4),
    )
