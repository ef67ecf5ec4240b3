"""A compact prompt format (``tmz-c1``: language tags instead of tmz-v1's English instruction) against tmz-v1.

``tmz-c1`` writes the user turn as ``en→zgh_Tfng\\n<text>``: each side is its language code (the variety's for
Tamazight), with ``_<Script>`` when the language is written in several scripts (as tmz-v1's labels name the
script only then); an image turn is ``→zgh_Tfng`` (or ``fr→zgh_Tfng`` with a known source) after the image.

The experiment trains the same tiny base (one tokenizer holding both formats' prompts, same seed) on the same
rows rendered in each format, and compares what they cost and how they train:

* ``memorise``: the 4 text pairs of ``tmz.train.memorise`` (3 directions), trained until every answer token leads
  its runner-up by 2.0 logits (checked every step, not every 10 as tmz's own chain, capped at ``--memorise-cap``), then greedy recall;
* ``demo``: ``tmz demo``'s data and training (examples/corpus/phrases.csv, en_Latn->zgh_Tfng, 10% held out,
  until learned at margin 1.0, checked every 100 steps, at most 2,000 steps), then ``tmz.train.evaluation``
  on the held-out test split (chrF++ / BLEU from ``tmz.core.scoring``).

Writes bench/results/compact_prompt-<tag>.json. The format lives here, not in tmz-core, until it is adopted.
Usage: OMP_NUM_THREADS=1 uv run python bench/compact_prompt.py [--seeds 42,1,2] [--chains memorise,demo]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import machine  # noqa: E402

import tmz.core.prompt as prompt  # noqa: E402
from tmz.core.prompt import PROMPT_FORMAT_ID, Side, instruction  # noqa: E402
from tmz.core.registry import SCRIPTS, Registry  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
COMPACT_FORMAT_ID = "tmz-c1"
FORMATS = (PROMPT_FORMAT_ID, COMPACT_FORMAT_ID)


def _tag(registry: Registry, side: Side) -> str:
    code = side.dialect or side.language
    lang = registry.language(code)
    if side.script not in SCRIPTS:
        raise ValueError(f"unknown script {side.script!r}; use one of {sorted(SCRIPTS)}")
    return f"{code}_{side.script}" if len(lang.scripts) > 1 else code


def compact_instruction(registry: Registry, source: Side | None, target: Side, text: str | None) -> str:
    """The user-turn text of format tmz-c1; ``text`` None means the source is an image."""
    head = f"{_tag(registry, source) if source else ''}→{_tag(registry, target)}"
    return head if text is None else f"{head}\n{text}"


def render(fmt: str, registry: Registry, source: Side | None, target: Side, text: str | None) -> str:
    """The user-turn text of ``fmt`` (tmz-v1 or tmz-c1)."""
    if fmt == PROMPT_FORMAT_ID:
        return instruction(registry, source, target, text)
    if fmt == COMPACT_FORMAT_ID:
        return compact_instruction(registry, source, target, text)
    raise ValueError(f"unknown prompt format {fmt!r}; use one of {list(FORMATS)}")


def row_sides(row: dict[str, Any]) -> tuple[Side | None, Side]:
    """The sides of a dataset row, as tmz data prepare builds them."""
    from tmz.core.dataset import UNKNOWN_LANGUAGE

    src = (
        None
        if row["source_language"] == UNKNOWN_LANGUAGE
        else Side(row["source_language"], row["source_script"])
    )
    return src, Side(row["target_language"], row["target_script"])


def convert_dataset(src_dir: Path, out: Path, fmt: str, registry: Registry) -> None:
    """A copy of the text dataset ``src_dir`` whose ``messages`` use prompt format ``fmt``."""
    from tmz.core.atomic import atomic_directory
    from tmz.core.dataset import load_splits, write_dataset
    from tmz.core.manifest import list_files, load_manifest, write_manifest

    manifest = load_manifest(src_dir, verify=False)

    def turn(row: dict[str, Any]) -> dict[str, Any]:
        if row["image"]:
            raise ValueError(f"{src_dir}: row {row['id']} has an image; this experiment is text only")
        user, *rest = row["messages"]
        text = render(fmt, registry, *row_sides(row), row["source_text"])
        return {"messages": [{**user, "content": [{"type": "text", "text": text}]}, *rest]}

    splits = load_splits(src_dir).map(turn)
    with atomic_directory(out, "dataset", overwrite=True) as tmp:
        write_dataset(tmp, splits)
        copy = manifest.model_copy(update={"name": out.name, "prompt_format": fmt, "files": list_files(tmp)})
        write_manifest(copy, tmp)


@contextmanager
def known(fmt: str):
    """tmz-core accepting ``fmt`` while the experiment trains on it (it is not part of tmz-core)."""
    saved = prompt.KNOWN_PROMPT_FORMATS
    prompt.KNOWN_PROMPT_FORMATS = saved | {fmt}
    try:
        yield
    finally:
        prompt.KNOWN_PROMPT_FORMATS = saved


def prompt_tokens(base: Path, data: Path) -> dict[str, float]:
    """Mean tokens of the rendered request (BOS + user turn + model opening) and of the training sequence."""
    from tmz.core.dataset import load_splits
    from tmz.train.tiny import TOKENIZER_FILE, load_tokenizer

    tok = load_tokenizer(base / TOKENIZER_FILE)
    rows = list(load_splits(data)["train"])

    def n(msgs: list[dict[str, Any]], **kw: Any) -> int:
        return len(tok.apply_chat_template(msgs, tokenize=True, return_dict=True, **kw)["input_ids"])

    req = [n(r["messages"][:1], add_generation_prompt=True) for r in rows]
    seq = [n(r["messages"]) for r in rows]
    return {"request_mean": round(sum(req) / len(req), 2), "sequence_mean": round(sum(seq) / len(seq), 2)}


def memorise_data(work: Path) -> tuple[Path, list[str]]:
    """The memorise pairs as a tmz-v1 dataset, and the texts its tokenizer is trained on."""
    from tmz.train.memorise import TEXT_PAIRS, write_pairs

    data = work / "data-tmz-v1"
    if not data.is_dir():
        write_pairs(data, list(TEXT_PAIRS))
    return data, [str(p.input) for p in TEXT_PAIRS] + [p.answer for p in TEXT_PAIRS]


def demo_data(work: Path) -> tuple[Path, list[str]]:
    """tmz demo's prepared dataset (tmz-v1), and the training texts its tokenizer is trained on."""
    from tmz.core.dataset import load_splits
    from tmz.data import prepare
    from tmz.pipeline.demo import DIRECTIONS, find_corpus

    data = work / "data-tmz-v1"
    if not data.is_dir():
        prepare(find_corpus(), data, progress=False, directions=DIRECTIONS, test_ratio=0.1, seed=0)
    train = load_splits(data)["train"]
    return data, [t for t in train["source_text"] if t] + list(train["target_text"])


def chain_overrides(chain: str, seed: int, memorise_cap: int) -> dict[str, Any]:
    if chain == "memorise":
        from tmz.train.memorise import MEMORISE_CONFIG

        return {**MEMORISE_CONFIG, "training.max_steps": memorise_cap, "training.seed": seed,
                "training.learned_check_steps": 1}  # fmt: skip
    from tmz.pipeline.demo import TRAIN_OVERRIDES

    return {**TRAIN_OVERRIDES, "training.seed": seed, "eval.after_training": True, "eval.split": "test"}


def run_one(chain: str, seed: int, work: Path, memorise_cap: int) -> list[dict[str, Any]]:
    """Both formats on one chain and seed, from the same tiny base."""
    from tmz.core.plugins import get_registry
    from tmz.train.config import load_config
    from tmz.train.sft import finetune
    from tmz.train.tiny import build_tiny, prompt_lines

    registry = get_registry()
    root = work / chain
    v1_data, texts = (memorise_data if chain == "memorise" else demo_data)(root)
    base = root / f"base-{seed}"
    if not base.is_dir():
        build_tiny(base, texts=[*texts, *prompt_lines(registry, compact_instruction)], seed=seed)
    out = []
    for fmt in FORMATS:
        data = root / f"data-{fmt}"
        if fmt != PROMPT_FORMAT_ID and not data.is_dir():
            convert_dataset(v1_data, data, fmt, registry)
        adapter_dir = root / f"adapter-{fmt}-{seed}"
        shutil.rmtree(adapter_dir, ignore_errors=True)
        start = time.perf_counter()
        with known(fmt):
            cfg = load_config(None, chain_overrides(chain, seed, memorise_cap))
            adapter = finetune(data, backend="tiny", out=adapter_dir, config=cfg, base=base, overwrite=True)
        res = adapter.results
        learned, recall, ev = res.learned, res.recall, res.eval
        row = {
            "chain": chain, "format": fmt, "seed": seed, "seconds": round(time.perf_counter() - start, 1),
            "train_rows": adapter.settings.train_rows, "global_step": res.global_step,
            "learned_reached": learned.reached if learned else None,
            "learned_step": learned.step if learned else None,
            "min_margin": learned.min_margin if learned else None,
            "share_learned": learned.share_learned if learned else None,
            "checks": [c.model_dump() for c in learned.checks] if learned else [],
            "recall": f"{recall.exact}/{recall.rows}" if recall else None,
            "train_loss": res.train_loss,
            "heldout": None if ev is None else {
                "split": ev.split, "rows": ev.overall.rows, "chrf": round(ev.overall.chrf, 2),
                "bleu": round(ev.overall.bleu, 2), "exact": ev.overall.exact,
            },
            "tokens": prompt_tokens(base, data),
        }  # fmt: skip
        print(json.dumps({k: v for k, v in row.items() if k != "checks"}), flush=True)
        out.append(row)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--seeds", default="42,1,2", help="comma-separated training seeds (tiny base and data order)"
    )
    ap.add_argument("--chains", default="memorise,demo", help="memorise, demo or both")
    ap.add_argument("--memorise-cap", type=int, default=1000, help="step cap of the memorise chain")
    ap.add_argument("--work", type=Path, default=Path("/tmp/tmz-compact-prompt"), help="scratch directory")
    ap.add_argument("--tag", default=date.today().isoformat(), help="result file suffix")
    args = ap.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    runs: list[dict[str, Any]] = []
    out = RESULTS / f"compact_prompt-{args.tag}.json"
    for chain in args.chains.split(","):
        for seed in seeds:
            runs += run_one(chain, seed, args.work, args.memorise_cap)
            payload = {"benchmark": "compact_prompt", "machine": machine(), "command": sys.argv,
                       "formats": {f: render(f, _registry(), Side("en", "Latn"), Side("zgh", "Tfng", "zgh"), "<text>")
                                   for f in FORMATS}, "runs": runs}  # fmt: skip
            out.write_text(json.dumps(payload, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {out}")


def _registry() -> Registry:
    from tmz.core.plugins import get_registry

    return get_registry()


if __name__ == "__main__":
    main()
