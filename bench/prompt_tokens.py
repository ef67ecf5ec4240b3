"""What a translation request costs in tokens: the instruction and chat markup against the text itself.

Prepares the real corpus (default ../shared/data/oldi_seed_zgh_eng, with the Latin twins of the Tamazight
side, as ``tmz data prepare --transliterate``) in a scratch directory, then renders every example's request
exactly as the runtime does (``tmz.runtime.languages.sides`` -> ``tmz.core.prompt.messages`` -> the chat
template LiteRT-LM renders, BOS included) and counts its tokens with each tokenizer:

* ``tiny-8k``: the SentencePiece tmz's tiny base trains (``tmz.train.tiny.train_sentencepiece`` on the train
  split's texts, tmz-v1's instructions of every direction and the alphabets) but with 8,192 pieces: its own
  512 cannot hold the corpus's 577 characters (SentencePiece refuses);
* ``bench-262k``: bench/export_gemma3_1b.py's 262,144-piece tokenizer (``work/bench-gemma3-1b/checkpoint``;
  BPE trained on tmz-v1's instructions and the alphabets only, padded with unused pieces), when it is there;
* every ``--tokenizer PATH`` (a SentencePiece ``tokenizer.model``, e.g. Gemma's own).

Neither built tokenizer is Gemma's: both learnt tmz-v1's instructions as whole pieces and the corpus's words
barely (tiny) or not at all (bench-262k), so they overstate how cheap the instruction is next to the text.
Pass Gemma's tokenizer.model with ``--tokenizer`` for the real figures. The same rows are also rendered in the
compact candidate ``tmz-c1`` (bench/compact_prompt.py). Writes bench/results/prompt_tokens-<tag>.{json,png}.
Usage: uv run python bench/prompt_tokens.py [--tokenizer PATH ...] [--corpus DIR | --dataset DIR]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import machine  # noqa: E402
from compact_prompt import FORMATS, render  # noqa: E402

from tmz.core.chat_format import GEMMA3, ChatFormat  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
CORPUS = ROOT.parent / "shared" / "data" / "oldi_seed_zgh_eng"
BENCH_262K = ROOT / "work" / "bench-gemma3-1b" / "checkpoint" / "tokenizer.model"
PERCENTILES = (50, 90, 99)
#: The tiny tokenizer's size here (tmz.core.builtins.TINY_VOCAB_SIZE, 512, is below the corpus's 577 characters).
TINY_CORPUS_VOCAB = 8192


class Counter:
    """Token counts of rendered text with one SentencePiece model: the chat format's markers (and BOS) count
    one token each when the model holds them as pieces, as Gemma's tokenizer does."""

    def __init__(self, model: bytes, chat: ChatFormat) -> None:
        import sentencepiece as spm

        self.sp = spm.SentencePieceProcessor(model_proto=model)
        self.vocab = self.sp.get_piece_size()
        specials = (chat.bos, *chat.special_tokens)
        self.specials = [s for s in specials if self.sp.piece_to_id(s) != self.sp.unk_id()]

    def __call__(self, text: str) -> int:
        n, rest = 0, [text]
        for s in self.specials:
            parts = [p for chunk in rest for p in chunk.split(s)]
            n += len(parts) - len(rest)
            rest = parts
        return n + sum(len(self.sp.encode(p)) for p in rest if p)


def tokenizers(args: argparse.Namespace, train_texts: list[str]) -> dict[str, bytes]:
    """name -> serialized SentencePiece model."""
    from tmz.core.plugins import get_registry
    from tmz.train.tiny import alphabet_lines, prompt_lines, train_sentencepiece

    out: dict[str, bytes] = {}
    if not args.only_given:
        lines = [*train_texts, *prompt_lines(get_registry()), *alphabet_lines()]
        out["tiny-8k"] = train_sentencepiece(lines, vocab_size=TINY_CORPUS_VOCAB)
        if BENCH_262K.is_file():
            out["bench-262k"] = BENCH_262K.read_bytes()
    for path in args.tokenizer:
        if not path.is_file():
            sys.exit(f"--tokenizer {path}: no such file; give a SentencePiece tokenizer.model")
        out[path.parent.name or path.stem] = path.read_bytes()
    if not out:
        sys.exit("no tokenizer: drop --only-given or pass --tokenizer PATH")
    return out


def requests(dataset: Path, chat: ChatFormat) -> tuple[list[dict[str, Any]], list[str], int]:
    """Every example of every split as the runtime would request it (per format), the train split's texts,
    and how many tmz-v1 requests differ from the training conversation's user turn (should be 0)."""
    from jinja2 import Template

    from tmz.core.dataset import SPLITS, read_split
    from tmz.core.plugins import get_registry
    from tmz.core.prompt import messages
    from tmz.runtime.languages import sides

    registry, template = get_registry(), Template(chat.template)
    out, train_texts, drift = [], [], 0
    for split in SPLITS:
        for ex in read_split(dataset, split):
            if ex.source_text is None:
                continue  # image rows: none in this corpus
            if split == "train":
                train_texts += [ex.source_text, ex.target_text]
            src, tgt = sides(registry, f"{ex.source_language}_{ex.source_script}",
                             f"{ex.target_language}_{ex.target_script}", ex.source_text)  # fmt: skip
            turns = {}
            for fmt in FORMATS:
                turn = messages(registry, src, tgt, ex.source_text)[0]
                turn["content"][0]["text"] = render(fmt, registry, src, tgt, ex.source_text)
                turns[fmt] = template.render(messages=[turn], bos_token=chat.bos, add_generation_prompt=True)
            drift += ex.messages[0].content[0].text != render(FORMATS[0], registry, src, tgt, ex.source_text)
            out.append({"direction": ex.direction, "payload": ex.source_text, "answer": ex.target_text,
                        "request": turns})  # fmt: skip
    return out, train_texts, drift


def stats(values: list[int]) -> dict[str, float]:
    s = sorted(values)
    pick = {f"p{p}": s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))] for p in PERCENTILES}
    return {"mean": round(statistics.fmean(s), 2), **pick, "max": s[-1], "sum": sum(s)}


def measure(rows: list[dict[str, Any]], count: Counter, chat: ChatFormat) -> dict[str, Any]:
    """Per format and direction: request, payload, overhead and answer tokens (distributions and sums)."""
    per: dict[str, dict[str, dict[str, list[int]]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(list))
    )
    for r in rows:
        payload = count(r["payload"])
        answer = count(r["answer"] + chat.turn_end)  # what the model generates (and trains on)
        for fmt, text in r["request"].items():
            request = count(text)
            for key in (r["direction"], "all"):
                d = per[fmt][key]
                d["request"].append(request)
                d["payload"].append(payload)
                d["overhead"].append(request - payload)
                d["answer"].append(answer)
                d["overhead_chars"].append(len(text) - len(r["payload"]))
    out: dict[str, Any] = {}
    for fmt, dirs in per.items():
        out[fmt] = {}
        for key, d in sorted(dirs.items()):
            req, over = sum(d["request"]), sum(d["overhead"])
            out[fmt][key] = {
                "examples": len(d["request"]), **{k: stats(v) for k, v in d.items()},
                "overhead_share_of_request": round(over / req, 4),
                "overhead_share_of_sequence": round(over / (req + sum(d["answer"])), 4),
            }  # fmt: skip
    return out


def plot(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(report["tokenizers"])
    fig, axes = plt.subplots(1, len(names), figsize=(6.5 * len(names), 5.6), squeeze=False)
    for ax, name in zip(axes[0], names, strict=True):
        res = report["tokenizers"][name]["formats"]
        dirs = [d for d in res[FORMATS[0]] if d != "all"]
        width = 0.38
        for i, fmt in enumerate(FORMATS):
            xs = [j + (i - 0.5) * width for j in range(len(dirs))]
            over = [res[fmt][d]["overhead"]["mean"] for d in dirs]
            pay = [res[fmt][d]["payload"]["mean"] for d in dirs]
            ax.bar(xs, over, width, label=f"{fmt}: instruction + chat markup", color=f"C{i}", hatch="//")
            ax.bar(xs, pay, width, bottom=over, label=f"{fmt}: text", color=f"C{i}", alpha=0.35)
            for x, o, p in zip(xs, over, pay, strict=True):
                ax.text(x, o + p, f"{o / (o + p):.0%}", ha="center", va="bottom", fontsize=8)
        ax.set_xticks(range(len(dirs)), [d.replace("->", "\n->") for d in dirs], fontsize=8)
        ax.set_ylabel("tokens per request (mean)")
        ax.set_title(f"{name} ({report['tokenizers'][name]['vocab']:,} pieces)", fontsize=10)
        ax.set_ylim(0, 1.12 * max(res[f][d]["request"]["mean"] for f in FORMATS for d in dirs))
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2)
    fig.suptitle("Request tokens on the seed corpus, tmz-v1 vs tmz-c1 (% = instruction + markup share)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--corpus", type=Path, default=CORPUS, help="corpus to prepare (default: the seed corpus)"
    )
    ap.add_argument("--dataset", type=Path, help="an already prepared dataset (skips preparing --corpus)")
    ap.add_argument(
        "--tokenizer", type=Path, action="append", default=[], help="a tokenizer.model (repeatable)"
    )
    ap.add_argument("--only-given", action="store_true", help="count with the --tokenizer models only")
    ap.add_argument(
        "--work", type=Path, default=Path("/tmp/tmz-prompt-tokens"), help="scratch (prepared corpus)"
    )
    ap.add_argument("--tag", default=date.today().isoformat(), help="result file suffix")
    args = ap.parse_args()
    chat = GEMMA3
    dataset = args.dataset or args.work / "dataset"
    if args.dataset is None and not (dataset / "tmz-manifest.json").is_file():
        from tmz.data import prepare

        if not args.corpus.is_dir():
            sys.exit(f"{args.corpus}: no such corpus; put the shared data at ../shared/data or pass --corpus")
        prepare(args.corpus, dataset, progress=False, transliterate=True, overwrite=True)
    rows, train_texts, drift = requests(dataset, chat)
    models = tokenizers(args, train_texts)
    report: dict[str, Any] = {
        "benchmark": "prompt_tokens", "machine": machine(("sentencepiece", "transformers")), "command": sys.argv,
        "corpus": str(args.dataset or args.corpus), "chat_format": chat.name, "examples": len(rows),
        "v1_requests_differing_from_training_turn": drift,
        "request_example": {fmt: rows[0]["request"][fmt].replace(rows[0]["payload"], "<text>") for fmt in FORMATS},
        "tokenizers": {},
    }  # fmt: skip
    for name, model in models.items():
        count = Counter(model, chat)
        report["tokenizers"][name] = {"vocab": count.vocab, "specials_as_one_token": count.specials,
                                      "chat_markup_tokens": count(chat.bos + chat.prompt("")),
                                      "formats": measure(rows, count, chat)}  # fmt: skip
        for fmt in FORMATS:
            a = report["tokenizers"][name]["formats"][fmt]["all"]
            print(f"{name:>12} {fmt}: request mean {a['request']['mean']}, overhead mean {a['overhead']['mean']} "
                  f"({a['overhead_share_of_request']:.0%} of the request), payload p50 {a['payload']['p50']}")  # fmt: skip
    stem = RESULTS / f"prompt_tokens-{args.tag}"
    stem.with_suffix(".json").write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n", "utf-8")
    plot(report, stem.with_suffix(".png"))
    print(f"wrote {stem}.json and .png")


if __name__ == "__main__":
    main()
