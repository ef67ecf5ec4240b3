from dataclasses import replace

import pytest

from tmz.core.errors import RegistryError
from tmz.core.plugins import PluginSet
from tmz.core.registry import Direction, Registry


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
    assert reg.backend_for_architecture("Gemma3ForCausalLM", 512).name == "tiny"
    assert reg.backend_for_architecture("Gemma3ForConditionalGeneration", 262208).name == "gemma3-4b-vision"
    with pytest.raises(RegistryError, match="unknown backend 'nope'"):
        reg.backend("nope")
    with pytest.raises(RegistryError, match="matches no registered backend"):
        reg.backend_for_architecture("LlamaForCausalLM")


#: The shapes of google/gemma-3-1b-it and google/gemma-3-270m-it (litert-torch's gemma3 decoder.py,
#: get_decoder_config_1b / _270m), written out here so the test does not read them from the registry.
PUBLISHED_SHAPES = {
    "gemma3-1b-text": dict(hidden_size=1152, intermediate_size=6912, num_hidden_layers=26, num_attention_heads=4,
                           num_key_value_heads=1, head_dim=256),
    "gemma3-270m-text": dict(hidden_size=640, intermediate_size=2048, num_hidden_layers=18, num_attention_heads=4,
                             num_key_value_heads=1, head_dim=256),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(PUBLISHED_SHAPES))
def test_config_json_shape_tells_gemma3_sizes_apart(reg, name):
    """270M and 1B share architecture and vocabulary: a checkpoint's config.json selects by its shape."""
    config = {"architectures": ["Gemma3ForCausalLM"], "model_type": "gemma3_text", "vocab_size": 262144,
              "sliding_window": 512, **PUBLISHED_SHAPES[name]}  # fmt: skip
    assert reg.backend_for_architecture("Gemma3ForCausalLM", 262144, config).name == name
    assert reg.backend(name).shape == PUBLISHED_SHAPES[name]


@pytest.mark.parametrize(
    "config",
    [
        None,  # no config.json to tell them apart
        {"vocab_size": 262144},  # no figures
        {**PUBLISHED_SHAPES["gemma3-1b-text"], "num_hidden_layers": 18},  # neither model
    ],
)
def test_ambiguous_gemma3_checkpoint_fails_naming_the_candidates(reg, config):
    with pytest.raises(
        RegistryError, match=r"fits several backends \(gemma3-1b-text: .*gemma3-270m-text: .*name the backend"
    ):
        reg.backend_for_architecture("Gemma3ForCausalLM", 262144, config)


def test_backend_of_unknown_shape_does_not_make_a_known_one_ambiguous(reg):
    """A plugin's backend of the same architecture and vocabulary without a text_config is never picked by shape."""
    other = Registry()
    for b in reg.backends.values():
        other.add_backend(b, "tmz-core")
    other.add_backend(replace(reg.backend("gemma3-1b-text"), name="demo-270m", text_config={}), "demo")
    config = PUBLISHED_SHAPES["gemma3-270m-text"]
    assert other.backend_for_architecture("Gemma3ForCausalLM", 262144, config).name == "gemma3-270m-text"
    with pytest.raises(RegistryError, match="demo-270m: shape unknown"):
        other.backend_for_architecture("Gemma3ForCausalLM", 262144, {})


def test_unknown_dialect_names_plugins(reg):
    with pytest.raises(RegistryError, match="unknown dialect 'shi'.*plugin installed"):
        reg.dialect("shi")
