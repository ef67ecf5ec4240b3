"""The plugins of ``plugins/`` installed from their wheels, end to end with tmz-core's CLI and tmz-data.

Each plugin is built and installed into a temporary directory (see the ``install_plugins`` fixture), never into
the project's environment: the same corpus is prepared with and without them.
"""

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tmz.core.manifest import load_manifest
from tmz.core.plugins import ENV_LOAD, PluginSet

REPO = Path(__file__).resolve().parents[1]
DISTS = {
    # distribution: (module, entry point name)
    "tmz-dialect-tachelhit": ("tmz_dialect_tachelhit", "tachelhit"),
    "tmz-dialect-tarifit": ("tmz_dialect_tarifit", "tarifit"),
    "tmz-backend-gemma3n": ("tmz_backend_gemma3n", "gemma3n"),
}
#: (source_language, target_language, source_text, target_text, dialect, id): a long-layout corpus.
ROWS = [
    ("en", "shi_Latn", "mat", "ag°rtil", "", "shi-code"),  # degree sign: Tachelhit labialisation
    # a Tamazight language column with the variety in the dialect column
    ("fr", "Tamazight (Tifinagh)", "natte", "ⴰⴳ°ⵔⵜⵉⵍ", "Tachelhit", "shi-column"),
    ("en", "rif", "father", "ḇaḇa", "", "rif-code"),  # spirantisation marks: Tarifit
    ("en", "Tarifit", "there", "ḏinni", "", "rif-name"),
    ("en", "zgh_Tfng", "water", "ⴰⵎⴰⵏ", "", "zgh"),  # tmz's own variety
]
NORMALISED = {
    "shi-code": ("shi", "Latn", "agʷrtil"),
    "shi-column": ("shi", "Tfng", "ⴰⴳⵯⵔⵜⵉⵍ"),
    "rif-code": ("rif", "Latn", "baba"),
    "rif-name": ("rif", "Latn", "dinni"),
    "zgh": ("zgh", "Tfng", "ⴰⵎⴰⵏ"),
}


@pytest.fixture(scope="module")
def site(install_plugins) -> Path:
    return install_plugins(*DISTS)


@pytest.fixture
def corpus(tmp_path) -> Path:
    path = tmp_path / "corpus.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["source_language", "target_language", "source_text", "target_text", "dialect", "id"])
        w.writerows(ROWS)
    return path


def tmz(*args: str, site: Path) -> subprocess.CompletedProcess:
    """Run the ``tmz`` CLI in a fresh process with the plugins installed in ``site``."""
    env = {k: v for k, v in os.environ.items() if k not in (ENV_LOAD, "PYTHONPATH")}
    env["PYTHONPATH"] = str(site)
    cmd = [sys.executable, "-c", "from tmz.core.cli import main; main()", *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)


def test_tmz_plugins_lists_each_plugin_with_its_distribution(site):
    run = tmz("plugins", "--json", site=site)
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    loaded = {p["distribution"]: p for p in data["plugins"]}
    for dist, (module, name) in DISTS.items():
        assert loaded[dist]["name"] == name and loaded[dist]["module"] == f"{module}.plugin"
        assert not [f for f in data["failures"] if f["distribution"] == dist]
    sources = {d["code"]: d["source"] for d in data["dialects"]}
    assert sources["shi"] == "tmz-dialect-tachelhit" and sources["rif"] == "tmz-dialect-tarifit"
    assert {"source": "shi", "target": "en", "from": "tmz-dialect-tachelhit"} in data["language_pairs"]
    backends = {b["name"]: b for b in data["backends"]}
    assert backends["gemma3n-e2b-text"]["source"] == "tmz-backend-gemma3n"
    assert "rif_Latn->ar_Arab" in data["directions"]


def _examples(out: Path) -> list[dict]:
    return [
        json.loads(line) for f in sorted((out / "jsonl").glob("*.jsonl")) for line in f.open(encoding="utf-8")
    ]


def test_data_prepare_accepts_and_normalises_dialect_rows_with_the_plugins(site, corpus, tmp_path):
    out = tmp_path / "data"
    run = tmz("data", "prepare", str(corpus), "--out", str(out), "--transliterate", "--quiet", site=site)
    assert run.returncode == 0, run.stderr
    manifest = load_manifest(out, expect_kind="dataset")
    assert manifest.results.rows.model_dump() == {
        "read": 5, "accepted": 5, "rejected": 0, "rejected_by_reason": {}
    }  # fmt: skip
    assert {"shi", "rif", "zgh"} <= set(manifest.dialects)
    assert {"shi", "rif"} <= set(manifest.languages)
    assert {"en_Latn->shi_Latn", "shi_Tfng->fr_Latn", "rif_Latn->en_Latn"} <= set(manifest.directions)
    examples = _examples(out)
    for row_id, (language, script, text) in NORMALISED.items():
        [ex] = [e for e in examples if e["id"].startswith(f"{row_id}|") and e["target_language"] == language
                and e["target_script"] == script and not e["derived"]]  # fmt: skip
        assert ex["target_text"] == text and ex["dialect"] == language
        assert ex["messages"][-1]["content"][0]["text"] == text
    prompts = {e["messages"][0]["content"][0]["text"].split("\n")[0] for e in examples}
    assert "Translate from English to Tachelhit (Latin script)." in prompts
    assert "Translate from Tarifit (Latin script) to English." in prompts
    # the Tifinagh twin of a Tarifit row comes from the plugin's transliterator, after its normaliser
    twins = {e["target_text"] for e in examples if e["derived"] and e["target_language"] == "rif"}
    assert {"ⴱⴰⴱⴰ", "ⴷⵉⵏⵏⵉ"} <= twins
    assert (out / "rejects.jsonl").read_text() == ""


def test_prepare_without_the_plugins_rejects_their_rows_naming_the_dialect(corpus, tmp_path):
    from tmz.data import prepare

    out = tmp_path / "data"
    bare = PluginSet(only=set()).registry  # tmz's own plugins only, even where the plugins are installed
    manifest = prepare(corpus, out, registry=bare, progress=False)
    assert manifest.results.rows.accepted == 1 and manifest.dialects == ["zgh"]
    assert manifest.results.rows.rejected_by_reason == {"unknown_dialect": 1, "unknown_language": 3}
    rejects = {r["row"]: r for r in map(json.loads, (out / "rejects.jsonl").open(encoding="utf-8"))}
    assert sorted(rejects) == [1, 2, 3, 4]  # 1-based record numbers: the four shi/rif rows
    for row, reject in rejects.items():
        variety = ROWS[row - 1][4] or ROWS[row - 1][1]  # what the row called its variety
        assert f"'{variety}'" in reject["reason"], reject
    assert rejects[2]["code"] == "unknown_dialect" and "plugin" in rejects[2]["reason"]


#: What a file under packages/ must never name: the plugins' distributions, modules and registered names.
PLUGIN_NAMES = [*DISTS, *(m for m, _ in DISTS.values()), "gemma3n-e2b-text"]


def test_no_core_file_mentions_the_plugins():
    skip_dirs = {"__pycache__", ".pytest_cache", "dist", "build", ".ruff_cache"}
    hits = []
    for path in (REPO / "packages").rglob("*"):
        if not path.is_file() or skip_dirs & set(path.relative_to(REPO).parts):
            continue
        text = path.read_text(encoding="utf-8", errors="ignore").casefold()
        hits += [f"{path.relative_to(REPO)}: {n}" for n in PLUGIN_NAMES if n.casefold() in text]
    assert not hits, "core files name third-party plugins:\n" + "\n".join(hits)
