"""The tmz chain composed in Python with the packages' public APIs only (what `tmz pipeline run` does).

uv run python examples/compose.py --backend tiny --workdir work/compose          # offline, tiny model
uv run python examples/compose.py --backend gemma3-1b-text --workdir work/1b      # GPU + HF_TOKEN
"""

from __future__ import annotations

import argparse
from pathlib import Path

from tmz.bundle import bundle
from tmz.data import prepare
from tmz.export import export
from tmz.pipeline import TRAIN_OVERRIDES as TINY  # the demo's settings for the tiny model
from tmz.runtime import Translator
from tmz.train import evaluate, finetune, merge

HERE = Path(__file__).resolve().parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backend", default="tiny")
    ap.add_argument("--workdir", type=Path, default=Path("work/compose"))
    args = ap.parse_args()
    work: Path = args.workdir

    data = prepare([HERE / "corpus" / "phrases.csv"], out=work / "data", directions=["en_Latn->zgh_Tfng"])
    rows = data.results.rows
    print(f"dataset: {rows.accepted} rows accepted, {rows.rejected} rejected (see work/data/rejects.jsonl)")
    tiny = args.backend == "tiny"
    config = None if tiny else HERE / "configs" / "train-gemma3-1b.toml"
    finetune(
        work / "data",
        backend=args.backend,
        out=work / "adapter",
        config=config,
        overrides=TINY if tiny else None,
    )
    model = work / "model"
    merge(work / "adapter", out=model)
    report = evaluate(model, work / "data", split="test")
    print("held-out chrF++:", f"{report.overall.chrf:.1f}")
    export(model, out=work / "export", quantization="int8", prefill_lengths=[64], kv_cache=256)
    for fmt in ("task", "litertlm"):
        manifest = bundle(work / "export", fmt=fmt, out=work / "dist")
        path = work / "dist" / manifest.files[0].path
        answer = Translator(path).translate("Call an ambulance.", src="en", tgt="zgh", script="Tfng")
        print(f"{path.name}: {answer.text} ({answer.origin})")


if __name__ == "__main__":
    main()
