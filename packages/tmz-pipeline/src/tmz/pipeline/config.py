"""The pipeline configuration (a TOML file): which corpus, backend, export and bundles, and where they go."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tmz.core.errors import ConfigError


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PipelineSection(_Section):
    name: str = "tmz"
    workdir: Path = Path("work")


class DataSection(_Section):
    sources: list[Path]
    options: dict[str, Any] = Field(default_factory=dict)


class TrainSection(_Section):
    backend: str = "gemma3-1b-text"
    config: Path | None = None  # a tmz-train TOML file
    overrides: dict[str, Any] = Field(default_factory=dict)


class EvalSection(_Section):
    enabled: bool = True
    split: str = "test"
    max_rows: int | None = None


class ExportSection(_Section):
    quantization: Literal["int8", "int4", "fp16", "fp32"] = "int8"
    prefill_lengths: list[int] | None = None  # None: tmz-export's ladder (32 to 512 within the KV cache)
    kv_cache: int = 1024
    parity: bool = True
    parity_split: str = "test"  # dataset split whose first rows are the parity prompts
    parity_rows: int = Field(8, gt=0)
    options: dict[str, Any] = Field(default_factory=dict)


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
