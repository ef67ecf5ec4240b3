"""Tachelhit installed from its wheel (real distribution metadata) into a PluginSet of this process."""

import tomllib
from pathlib import Path

import pytest

from tmz.core.errors import RegistryError
from tmz.core.plugins import PluginSet

DIST = "tmz-dialect-tachelhit"
VERSION = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["project"]["version"]


@pytest.fixture
def plugins(install_plugins, monkeypatch) -> PluginSet:
    monkeypatch.syspath_prepend(str(install_plugins(DIST)))
    return PluginSet()


def test_registers_dialect_names_and_pairs(plugins):
    reg = plugins.registry
    assert not [f for f in plugins.failures if f.distribution == DIST]
    [info] = [p for p in plugins.loaded if p.distribution == DIST]
    assert (info.name, info.module, info.version) == ("tachelhit", "tmz_dialect_tachelhit.plugin", VERSION)
    shi = reg.dialect("shi")
    assert shi.name == "Tachelhit" and shi.scripts == ("Tfng", "Latn", "Arab")
    assert set(shi.names) == {"fr", "ar", "zgh"}
    assert reg.sources[("dialect", "shi")] == DIST and reg.sources[("language", "shi")] == DIST
    assert reg.language("shi").tamazight
    for name in ("Tachelhit", "Tashelhiyt", "Shilha", "تشلحيت", "ⵜⴰⵛⵍⵃⵉⵜ", "shi"):
        assert reg.resolve(name) == ("shi", None), name
    assert reg.resolve("Tachelhit (Tifinagh)") == ("shi", "Tfng")
    pairs = {(s, t) for (s, t) in reg.pairs if "shi" in (s, t)}
    assert pairs == {(a, b) for o in ("ar", "fr", "en") for a, b in (("shi", o), (o, "shi"))}
    tags = {d.tag for d in reg.directions()}
    assert {"shi_Tfng->en_Latn", "fr_Latn->shi_Latn", "shi_Arab->ar_Arab"} <= tags
    assert "shi_Tfng->zgh_Tfng" not in tags  # variety to variety is no translation
    assert reg.sources[("dialect", "zgh")] == "tmz-core"  # the built-ins are untouched


def test_without_the_plugin_shi_is_unknown():
    reg = PluginSet(only=set()).registry  # tmz's own plugins only, even where this one is installed
    with pytest.raises(RegistryError, match=r"unknown dialect 'shi'.*plugin"):
        reg.dialect("shi")
    with pytest.raises(RegistryError, match="Tachelhit"):
        reg.resolve("Tachelhit")


@pytest.mark.parametrize(
    ("script", "raw", "expected"),
    [
        ("Latn", "ag°rtil", "agʷrtil"),  # degree sign after g, k, x, q, ɣ: labialisation
        ("Latn", "K° kº x° q° ɣ°", "Kʷ kʷ xʷ qʷ ɣʷ"),
        ("Latn", "γ°", "ɣʷ"),  # tmz-core's look-alikes first (γ -> ɣ), then the labialisation
        ("Latn", "a° 30° t°", "a° 30° t°"),  # not after a labialisable consonant: left alone
        ("Latn", "agwmar", "agwmar"),  # a plain w is a letter, not labialisation
        ("Tfng", "ⴰⴳ°ⵔⵜⵉⵍ", "ⴰⴳⵯⵔⵜⵉⵍ"),
        ("Tfng", "ⴰⴳʷⵔⵜⵉⵍ", "ⴰⴳⵯⵔⵜⵉⵍ"),  # tmz-core's rule, still applied
        ("Latn", "  aε\u200bwal  ", "aɛwal"),  # tmz-core's clean-up, still applied
    ],
)
def test_normaliser(plugins, script, raw, expected):
    normalise = plugins.registry.normaliser("shi")
    assert normalise(raw, script) == expected
    assert normalise(expected, script) == expected  # idempotent


def test_transliteration_is_ircam_both_ways(plugins):
    tr = plugins.registry.dialect("shi").transliterator
    latin = plugins.registry.normaliser("shi")("ak°ṛaḍ ɣʷ", "Latn")
    tifinagh = tr.transliterate(latin, "Latn", "Tfng")
    assert tifinagh == "ⴰⴽⵯⵕⴰⴹ ⵖⵯ"
    assert tr.transliterate(tifinagh, "Tfng", "Latn") == latin
