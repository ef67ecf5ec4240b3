import pytest

from tmz.core.errors import RegistryError
from tmz.core.plugins import PluginSet
from tmz.core.registry import Direction


@pytest.fixture(scope="module")
def reg():
    return PluginSet(only=set()).registry


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("English", ("en", None)),
        ("Français", ("fr", None)),
        ("francais", ("fr", None)),
        ("العربية", ("ar", None)),
        ("zgh_Tfng", ("zgh", "Tfng")),
        ("tzm-Latn", ("tzm", "Latn")),
        ("Tamazight (Tifinagh)", ("zgh", "Tfng")),
        ("Tamazight (Latin)", ("zgh", "Latn")),
        ("ⵜⴰⵎⴰⵣⵉⵖⵜ", ("zgh", None)),
        ("Central Atlas Tamazight", ("tzm", None)),
    ],
)
def test_resolve_names_people_write(reg, name, expected):
    assert reg.resolve(name) == expected


def test_unknown_name_lists_accepted(reg):
    with pytest.raises(RegistryError, match="unknown language 'Klingon'; accepted: codes"):
        reg.resolve("Klingon")
    with pytest.raises(RegistryError, match="unknown script"):
        reg.resolve("Tamazight (Cyrillic)")


def test_directions_cover_the_app(reg):
    tags = {d.tag for d in reg.directions()}
    for taz in ("zgh", "tzm"):
        for other, script in (("ar", "Arab"), ("fr", "Latn"), ("en", "Latn")):
            for tscript in ("Tfng", "Latn"):
                assert f"{taz}_{tscript}->{other}_{script}" in tags
                assert f"{other}_{script}->{taz}_{tscript}" in tags
    for a, b in (("ar_Arab", "fr_Latn"), ("ar_Arab", "en_Latn"), ("fr_Latn", "en_Latn")):
        assert f"{a}->{b}" in tags and f"{b}->{a}" in tags
    assert not any(d.source == d.target for d in reg.directions())


def test_direction_parse(reg):
    d = Direction.parse("en_Latn->zgh_Tfng")
    assert reg.supports(d) and d.tag == "en_Latn->zgh_Tfng"
    assert not reg.supports(Direction("en", "Tfng", "zgh", "Tfng"))
    with pytest.raises(RegistryError, match="not a direction"):
        Direction.parse("en->zgh")


def test_backends(reg):
    assert reg.backend("gemma3-1b-text").vocab_size == 262144
    assert reg.backend("gemma3-4b-vision").vocab_size == 262208
    assert reg.backend("gemma3-4b-vision").vision
    assert reg.backend_for_architecture("Gemma3ForCausalLM", 262144).name == "gemma3-1b-text"
    with pytest.raises(RegistryError, match="unknown backend 'nope'"):
        reg.backend("nope")
    with pytest.raises(RegistryError, match="matches no registered backend"):
        reg.backend_for_architecture("LlamaForCausalLM")


def test_unknown_dialect_names_plugins(reg):
    with pytest.raises(RegistryError, match="unknown dialect 'shi'.*plugin installed"):
        reg.dialect("shi")
