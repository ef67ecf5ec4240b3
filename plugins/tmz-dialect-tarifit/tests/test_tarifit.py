"""Tarifit installed from its wheel (real distribution metadata) into a PluginSet of this process."""

import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tmz.core.errors import RegistryError
from tmz.core.plugins import ENV_LOAD, PluginSet

DIST = "tmz-dialect-tarifit"
VERSION = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["project"]["version"]


@pytest.fixture
def plugins(install_plugins, monkeypatch) -> PluginSet:
    monkeypatch.syspath_prepend(str(install_plugins(DIST)))
    return PluginSet()


def test_registers_dialect_names_and_pairs(plugins):
    reg = plugins.registry
    assert not [f for f in plugins.failures if f.distribution == DIST]
    [info] = [p for p in plugins.loaded if p.distribution == DIST]
    assert (info.name, info.module, info.version) == ("tarifit", "tmz_dialect_tarifit.plugin", VERSION)
    rif = reg.dialect("rif")
    assert rif.name == "Tarifit" and rif.scripts == ("Latn", "Tfng", "Arab")
    assert set(rif.names) == {"fr", "ar", "zgh"}
    assert reg.sources[("dialect", "rif")] == DIST
    for name in ("Tarifit", "Riffian", "Rifain", "الريفية", "ⵜⴰⵔⵉⴼⵉⵜ", "rif"):
        assert reg.resolve(name) == ("rif", None), name
    assert reg.resolve("rif-Latn") == ("rif", "Latn")
    pairs = {(s, t) for (s, t) in reg.pairs if "rif" in (s, t)}
    assert pairs == {(a, b) for o in ("ar", "fr", "en") for a, b in (("rif", o), (o, "rif"))}
    assert {"rif_Latn->en_Latn", "ar_Arab->rif_Tfng"} <= {d.tag for d in reg.directions()}


def test_without_the_plugin_rif_is_unknown():
    reg = PluginSet(only=set()).registry  # tmz's own plugins only, even where this one is installed
    with pytest.raises(RegistryError, match=r"unknown dialect 'rif'.*plugin"):
        reg.dialect("rif")


@pytest.mark.parametrize(
    ("script", "raw", "expected"),
    [
        ("Latn", "ḇaḇa", "baba"),  # spirantisation marks, precomposed (line below)
        ("Latn", "b\u0332aṯ ḵ Ḏ", "bat k D"),  # ... and as combining low line / capitals
        ("Latn", "d\u0331\u0323 d\u0323\u0331", "ḍ ḍ"),  # emphatic spirant ḏ̣, marks in either order: ḍ
        ("Latn", "yeţţa", "yetta"),  # affricate mark
        ("Latn", "ařiř ṛ ḍ č ǧ", "ařiř ṛ ḍ č ǧ"),  # ř and the IRCAM/extended letters stay
        ("Latn", "tmaziγt εəs", "tmaziɣt ɛes"),  # tmz-core's look-alikes, still applied
        ("Tfng", "ⴲⴸⴺⵝⴵ ⴱⴷⴹⵜⴶ", "ⴱⴷⴹⵜⴶ ⴱⴷⴹⵜⴶ"),  # Berber Academy letters -> IRCAM
        ("Arab", "ⴲ ḏ", "ⴲ ḏ"),  # the rules are per script
    ],
)
def test_normaliser(plugins, script, raw, expected):
    normalise = plugins.registry.normaliser("rif")
    assert normalise(raw, script) == expected
    assert normalise(expected, script) == expected  # idempotent


def test_transliteration(plugins):
    tr = plugins.registry.dialect("rif").transliterator
    assert tr.transliterate("Ařiř ḍ ɛ ǧ", "Latn", "Tfng") == "ⴰⵔⵉⵔ ⴹ ⵄ ⴶ"  # ř -> ⵔ, one way
    assert tr.transliterate("ar\u030c", "Latn", "Tfng") == "ⴰⵔ"  # ř typed as r + combining caron
    assert tr.transliterate("ⴰⵔⵉⵔ ⴹ ⵄ ⴶ", "Tfng", "Latn") == "arir ḍ ɛ ǧ"
    text = plugins.registry.normaliser("rif")("ḏ ṯ", "Latn")
    assert tr.transliterate(text, "Latn", "Tfng") == "ⴷ ⵜ"


def test_uninstalling_the_plugin_takes_rif_away(install_plugins, tmp_path):
    """A real uninstall: the wheel installed into a throwaway directory, `tmz plugins` lists rif from it;
    `uv pip uninstall` removes the distribution, and rif is gone from `tmz plugins` and `tmz data prepare`."""
    site = tmp_path / "site"
    shutil.copytree(install_plugins(DIST), site)
    env = {**os.environ, "PYTHONPATH": str(site)}
    env.pop(ENV_LOAD, None)
    tmz = [sys.executable, "-c", "from tmz.core.cli import main; main()"]
    corpus = tmp_path / "c.csv"
    corpus.write_text("source_language,target_language,source_text,target_text\nrif_Latn,English,azul,hello\n",
                      encoding="utf-8")  # fmt: skip

    def state() -> tuple[set[str], subprocess.CompletedProcess, Path]:
        listed = json.loads(subprocess.run([*tmz, "plugins", "--json"], capture_output=True, text=True, env=env,
                                           check=True).stdout)  # fmt: skip
        out = tmp_path / f"data{len(list(tmp_path.glob('data*')))}"
        prepared = subprocess.run([*tmz, "data", "prepare", str(corpus), "--out", str(out)],
                                  capture_output=True, text=True, env=env)  # fmt: skip
        return {d["code"] for d in listed["dialects"] if d["source"] == DIST}, prepared, out

    dialects, prepared, _ = state()
    assert dialects == {"rif"} and prepared.returncode == 0, prepared.stderr
    subprocess.run(["uv", "pip", "uninstall", "--quiet", "--python", sys.executable, "--target", str(site), DIST],
                   check=True)  # fmt: skip
    assert not list(site.glob("tmz_dialect_tarifit*"))  # the package and its dist-info are gone
    dialects, prepared, out = state()
    assert (
        dialects == set()
        and prepared.returncode == 1
        and "no row was accepted" in " ".join(prepared.stderr.split())
    )
    [reject] = [
        json.loads(line) for line in out.with_name(out.name + ".rejects.jsonl").read_text().splitlines()
    ]
    assert reject["code"].startswith("unknown_") and "'rif" in reject["reason"], reject
