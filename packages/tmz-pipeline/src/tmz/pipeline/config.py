"""The pipeline configuration (a TOML file): which corpus, backend, export and bundles, and where they go.

The stages' own options classes are embedded as they are (``[data] options`` is tmz-data's PrepareOptions,
``[export]`` extends tmz-export's ExportOptions), so every default is held once, by the package that owns it.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from tmz.core.errors import ConfigError
from tmz.core.kinds.dataset import PrepareOptions
from tmz.export.options import ExportOptions


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PipelineSection(_Section):
    name: str = "tmz"
    workdir: Path = Path("work")


class DataSection(_Section):
    sources: list[Path]
    options: PrepareOptions = Field(default_factory=PrepareOptions)


class TrainSection(_Section):
    backend: str = "gemma3-1b-text"
    config: Path | None = None  # a tmz-train TOML file
    overrides: dict[str, Any] = Field(default_factory=dict)


class EvalSection(_Section):
    enabled: bool = True
    split: str = "test"
    max_rows: int | None = Field(default=None, gt=0, description="score only the first rows of the split")


class ExportSection(ExportOptions):
    """tmz-export's options (quantization, prefill lengths, KV cache, parity), and where the parity prompts
    come from: the first ``parity_prompts`` rows of ``parity_split``."""

    parity_split: str = "test"
    options: dict[str, Any] = Field(default_factory=dict, description="other keyword arguments of export()")

    @field_validator("options")
    @classmethod
    def _not_an_option(cls, options: dict[str, Any]) -> dict[str, Any]:
        if typed := sorted(set(options) & set(ExportOptions.model_fields)):
            raise ValueError(f"{', '.join(typed)}: set in [export] itself, not in its options")
        return options


class BundleSection(_Section):
    formats: list[Literal["task", "litertlm"]] = Field(default_factory=lambda: ["task", "litertlm"])


class Sample(_Section):
    text: str | None = None
    image: Path | None = None
    src: str | None = None
    tgt: str
    script: str | None = None
    src_script: str | None = None
    dialect: str | None = None
    expected: str | None = None  # the reference answer, shown beside the output


class TranslateSection(_Section):
    samples: list[Sample] = Field(default_factory=list)
    from_split: str | None = None  # also translate the first rows of this dataset split (with references)
    rows: int = Field(4, ge=0)


class PipelineConfig(_Section):
    pipeline: PipelineSection = Field(default_factory=PipelineSection)
    data: DataSection
    train: TrainSection = Field(default_factory=TrainSection)
    eval: EvalSection = Field(default_factory=EvalSection)
    export: ExportSection = Field(default_factory=ExportSection)
    bundle: BundleSection = Field(default_factory=BundleSection)
    translate: TranslateSection = Field(default_factory=TranslateSection)

    def resolve_paths(self, base: Path) -> PipelineConfig:
        """Make relative paths relative to the configuration file's directory."""

        def fix(p: Path | None) -> Path | None:
            return p if p is None or p.is_absolute() else (base / p)

        c = self.model_copy(deep=True)
        c.pipeline.workdir = fix(c.pipeline.workdir)
        c.data.sources = [fix(s) for s in c.data.sources]
        c.train.config = fix(c.train.config)
        if c.data.options.tokenizer is not None:
            c.data.options.tokenizer = str(fix(Path(c.data.options.tokenizer)))
        for s in c.translate.samples:
            s.image = fix(s.image)
        return c


def load_config(path: str | Path) -> PipelineConfig:
    """Read and validate a pipeline TOML file; errors name the file and the field."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such pipeline configuration file")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: not valid TOML ({e})") from e
    try:
        config = PipelineConfig.model_validate(raw)
    except ValidationError as e:
        problems = "; ".join(f"{'.'.join(map(str, err['loc']))}: {err['msg']}" for err in e.errors())
        raise ConfigError(f"{path}: invalid pipeline configuration: {problems}") from e
    return config.resolve_paths(path.resolve().parent)
