"""Reading manifests of older schemas: each migration takes the raw JSON of one version to the next.

Schema 1 (tmz 0.1/0.2) kept ``settings`` and ``results`` as free dictionaries; schema 2 types them per kind
(:mod:`tmz.core.kinds`). A manifest is migrated in memory when read; its file, and so its hash (which children
record), never changes.
"""

from __future__ import annotations

from typing import Any

Raw = dict[str, Any]
_SCORE_KINDS = ("by_direction", "by_script", "by_dialect")


def migrate(raw: Raw) -> Raw:
    """``raw`` in the current schema (a copy when it had to change)."""
    if raw.get("schema_version") == 1:
        raw = _v1_to_v2(raw)
    return raw


def _v1_to_v2(raw: Raw) -> Raw:
    raw = {**raw, "schema_version": 2}
    settings, results = dict(raw.get("settings") or {}), dict(raw.get("results") or {})
    kind = raw.get("kind")
    if kind == "dataset":
        settings, results = _dataset(settings, results)
    elif kind == "model":
        settings = _model(settings)
    evaluation = results.pop("eval", None)
    if kind in ("adapter", "model") and isinstance(evaluation, dict):
        results["eval"] = _evaluation(evaluation)
    elif evaluation is not None:
        results["eval"] = evaluation
    raw["settings"], raw["results"] = settings, results
    return raw


def _dataset(settings: Raw, results: Raw) -> tuple[Raw, Raw]:
    rows = results.get("rows")
    if isinstance(rows, dict) and "in" in rows:  # tmz-data: "in" is now "read"
        results["rows"] = {"read": rows["in"], **{k: v for k, v in rows.items() if k != "in"}}
        return settings, results
    # tmz-train memorise wrote only {"rows": {split: n}}: every split held all the rows
    per = {s: int(n) for s, n in (rows or {}).items()}
    n = max(per.values(), default=0)
    settings = {**settings, "memorised": True}
    results = {
        "rows": {"read": n, "accepted": n, "rejected": 0},
        "examples": {"total": sum(per.values()), "derived": 0, "by_split": per, "by_direction": {},
                     "by_dialect": {}, "by_script": {}, "by_domain": {}},
        "splits": {s: {"examples": k, "groups": k} for s, k in per.items()},
    }  # fmt: skip
    return settings, results


def _model(settings: Raw) -> Raw:
    out: Raw = {}
    if "image_normalisation" in settings:
        out["image_normalisation"] = settings["image_normalisation"]
    merged = ("dtype", "base", "vocab", "lora", "dialect_mode")
    tiny = ("seed", "vocab_size", "tokenizer_corpus_lines", "text_config")
    if set(merged) <= set(settings):  # tmz-train merge
        out["merged"] = {k: settings[k] for k in merged}
    elif set(tiny) <= set(settings):  # tmz-train init-tiny
        out["tiny"] = {k: settings[k] for k in (*tiny, "vision_config") if k in settings}
    if "described_by" in settings:
        out["described_by"] = settings["described_by"]
    elif not {"merged", "tiny"} & set(out):  # written by hand (a benchmark, a script): keep what it said
        out["described_by"] = f"schema-1 settings not written by tmz-train: {sorted(settings)}"
    return out


def _scores(s: Raw, cer: float | None = None) -> Raw:
    return {"rows": s.get("n", 0), "chrf": s.get("chrf++", 0.0), "bleu": s.get("bleu", 0.0),
            "exact": s.get("exact", 0.0), "cer": cer}  # fmt: skip


def _evaluation(ev: Raw) -> Raw:
    out: Raw = {"split": ev.get("split", "test"), "overall": _scores(ev.get("overall") or {})}
    for kind in _SCORE_KINDS:
        out[kind] = {k: _scores(v) for k, v in (ev.get(kind) or {}).items()}
    if isinstance(ev.get("ocr"), dict):
        ocr = ev["ocr"]
        out["by_modality"] = {"image": {"rows": ocr.get("n", 0), "chrf": 0.0, "bleu": 0.0, "exact": 0.0,
                                        "cer": ocr.get("cer")}}  # fmt: skip
    return out
