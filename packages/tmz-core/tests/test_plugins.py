"""Third-party plugins: real distribution metadata with an entry point in group ``tmz``, no change to core."""

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tmz.core.plugins import ENV_LOAD, PluginSet, plugin_set, reset

GOOD = textwrap.dedent(
    """
    from tmz.core.hookspecs import hookimpl
    from tmz.core.registry import Dialect, LanguagePair, ModelBackend
    from tmz.core.tamazight import IrcamTransliterator, TamazightNormaliser

    @hookimpl
    def register_dialects(register):
        register(Dialect("kab", "Kabyle", ("Latn", "Tfng"), TamazightNormaliser(), IrcamTransliterator(),
                         {"fr": "Kabyle"}, ("Taqbaylit",)))

    @hookimpl
    def register_language_pairs(register):
        register(LanguagePair("kab", "fr"))
        register(LanguagePair("fr", "kab"))

    @hookimpl
    def register_model_backends(register):
        register(ModelBackend("demo-270m", "example/demo-270m", "Gemma3ForCausalLM", ("text",),
                              "AutoModelForCausalLM", "all-linear", "text_generation", "gemma3", 262144))
    """
)


def make_distribution(site, dist, module, source, version="0.3.0"):
    """Write an installed distribution (dist-info with an entry point in group tmz) into ``site``."""
    (site / f"{module}.py").write_text(source)
    info = site / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text(f"[tmz]\n{module} = {module}\n")
    (info / "RECORD").write_text("")


@pytest.fixture
def site(tmp_path, monkeypatch):
    make_distribution(tmp_path, "tmz-dialect-kabyle", "tmz_kabyle", GOOD)
    make_distribution(tmp_path, "tmz-broken", "tmz_broken", "raise ImportError('needs libfoo')\n", "1.0")
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def test_plugin_registers_dialect_pairs_and_backend(site):
    ps = PluginSet()
    reg = ps.registry
    assert reg.dialect("kab").name == "Kabyle"
    assert reg.language("kab").tamazight  # a dialect is also a language
    assert reg.sources[("dialect", "kab")] == "tmz-dialect-kabyle"
    assert reg.sources[("backend", "demo-270m")] == "tmz-dialect-kabyle"
    assert "kab_Tfng->fr_Latn" in {d.tag for d in reg.directions()}
    assert reg.resolve("Taqbaylit") == ("kab", None)
    # the built-ins keep working next to the plugin
    assert reg.sources[("dialect", "zgh")] == "tmz-core"


def test_broken_plugin_is_reported_and_skipped(site):
    ps = PluginSet()
    [failure] = ps.failures
    assert failure.distribution == "tmz-broken" and "needs libfoo" in failure.error
    assert "kab" in ps.registry.dialects


def test_only_named_plugins_load(site):
    ps = PluginSet(only={"tmz-broken-not-this"})
    assert "kab" not in ps.registry.dialects and not ps.failures
    assert "zgh" in ps.registry.dialects  # tmz's own distributions always load
    assert "kab" in PluginSet(only={"tmz-dialect-kabyle"}).registry.dialects


def test_tmz_plugins_cli_shows_plugin_and_failure(site):
    env = {**os.environ, "PYTHONPATH": str(site)}
    env.pop(ENV_LOAD, None)
    run = subprocess.run(
        [sys.executable, "-c", "from tmz.core.cli import main; main()", "plugins", "--json"],
        capture_output=True, text=True, env=env, check=True,
    )  # fmt: skip
    data = json.loads(run.stdout)
    assert {
        "code": "kab",
        "name": "Kabyle",
        "scripts": ["Latn", "Tfng"],
        "source": "tmz-dialect-kabyle",
    } in data["dialects"]
    assert any(b["name"] == "demo-270m" and b["source"] == "tmz-dialect-kabyle" for b in data["backends"])
    assert any(p["distribution"] == "tmz-dialect-kabyle" for p in data["plugins"])
    assert data["failures"][0]["distribution"] == "tmz-broken"
    assert "plugin tmz-broken" in run.stderr and "skipped" in run.stderr
    version = subprocess.run(
        [sys.executable, "-c", "from tmz.core.cli import main; main()", "--version"],
        capture_output=True, text=True, env=env, check=True,
    )  # fmt: skip
    assert "tmz-core " in version.stdout and "tmz-dialect-kabyle 0.3.0" in version.stdout


@pytest.fixture
def from_env(site, monkeypatch):
    """``from_env(value)``: the process-wide plugin set built afresh with TMZ_LOAD_PLUGINS set to ``value``
    (None: unset), with the distributions of ``site`` installed."""

    def build(value):
        if value is None:
            monkeypatch.delenv(ENV_LOAD, raising=False)
        else:
            monkeypatch.setenv(ENV_LOAD, value)
        reset()
        return plugin_set()

    yield build
    reset()


def distributions(ps) -> set[str]:
    return {p.distribution for p in ps.loaded}


TMZ_OWN = {
    "tmz-core",
    "tmz-data",
    "tmz-train",
    "tmz-export",
    "tmz-bundle",
    "tmz-runtime",
    "tmz-pipeline",
    "tmz-review",
    "tmz-publish",
}


def test_env_unset_loads_every_plugin(from_env):
    ps = from_env(None)
    assert distributions(ps) == TMZ_OWN | {"tmz-dialect-kabyle"}
    assert [f.distribution for f in ps.failures] == ["tmz-broken"]


def test_env_names_the_third_parties_to_load(from_env):
    ps = from_env(" tmz-dialect-kabyle , ,")
    assert distributions(ps) == TMZ_OWN | {"tmz-dialect-kabyle"} and not ps.failures
    assert ps.registry.sources[("dialect", "kab")] == "tmz-dialect-kabyle"
    # an entry point name works too
    assert [f.distribution for f in from_env("tmz_broken").failures] == ["tmz-broken"]


def test_empty_env_loads_no_third_party_and_all_of_tmz(from_env):
    ps = from_env("")
    assert distributions(ps) == TMZ_OWN and not ps.failures
    assert all(p.module.startswith("tmz.") for p in ps.loaded)
    assert "kab" not in ps.registry.dialects and "zgh" in ps.registry.dialects


def test_empty_env_keeps_the_commands_of_tmz():
    """tmz-pipeline's `demo` is tmz's own: it stays with TMZ_LOAD_PLUGINS= (empty)."""
    run = subprocess.run(
        [sys.executable, "-c", "from tmz.core.cli import main; main()", "demo", "--help"],
        capture_output=True, text=True, env={**os.environ, ENV_LOAD: ""}, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("Usage: tmz demo") and "Example" in run.stdout


RAISING = GOOD + textwrap.dedent(
    """
    @hookimpl
    def register_languages(register):
        raise RuntimeError("no languages today")
    """
)


def test_plugin_hook_that_raises_is_reported_and_skipped(tmp_path, monkeypatch):
    make_distribution(tmp_path, "tmz-raising", "tmz_raising", RAISING)
    monkeypatch.syspath_prepend(str(tmp_path))
    ps = PluginSet()
    [failure] = ps.failures
    assert failure.distribution == "tmz-raising" and failure.entry_point == "tmz_raising"
    assert failure.error == "register_languages: no languages today"
    # its other hooks and the other plugins keep working
    assert ps.registry.sources[("dialect", "kab")] == "tmz-raising" and "en" in ps.registry.languages
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    env.pop(ENV_LOAD, None)
    run = subprocess.run(
        [sys.executable, "-c", "from tmz.core.cli import main; main()", "plugins"],
        capture_output=True, text=True, env={**env, "COLUMNS": "200"}, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    skipped = "tmz: plugin tmz-raising (tmz_raising) skipped: register_languages: no languages today"
    assert skipped in run.stderr.splitlines()
    assert "failed: tmz-raising (tmz_raising): register_languages: no languages today" in run.stdout


def test_duplicate_registration_is_an_error(tmp_path, monkeypatch):
    clash = GOOD.replace('"kab", "Kabyle"', '"zgh", "Clash"')
    make_distribution(tmp_path, "tmz-clash", "tmz_clash", clash)
    monkeypatch.syspath_prepend(str(tmp_path))
    ps = PluginSet()
    assert any("registered twice" in f.error and f.distribution == "tmz-clash" for f in ps.failures)


def test_two_distributions_registering_one_code_differently_are_both_named(tmp_path, monkeypatch):
    """The second distribution to register `kab` otherwise is the error, naming both; the first keeps it."""
    make_distribution(tmp_path, "tmz-dialect-kabyle", "tmz_kabyle", GOOD)
    fork = GOOD.replace('"kab", "Kabyle"', '"kab", "Kabyle (fork)"')
    make_distribution(tmp_path, "tmz-kabyle-fork", "tmz_kabyle_fork", fork)
    monkeypatch.syspath_prepend(str(tmp_path))
    ps = PluginSet()
    [failure] = [f for f in ps.failures if "registered twice" in f.error]
    named = re.search(r"dialect 'kab' registered twice \(by (\S+) and (\S+)\); uninstall one", failure.error)
    assert named and set(named.groups()) == {"tmz-dialect-kabyle", "tmz-kabyle-fork"}, failure.error
    assert failure.distribution in ("tmz-dialect-kabyle", "tmz-kabyle-fork")
    winner = ({"tmz-dialect-kabyle", "tmz-kabyle-fork"} - {failure.distribution}).pop()
    assert ps.registry.sources[("dialect", "kab")] == winner


def test_duplicate_of_a_builtin_names_tmz_core_and_the_plugin(tmp_path, monkeypatch):
    make_distribution(tmp_path, "tmz-clash", "tmz_clash", GOOD.replace('"kab", "Kabyle"', '"zgh", "Clash"'))
    monkeypatch.syspath_prepend(str(tmp_path))
    [failure] = [f for f in PluginSet().failures if f.distribution == "tmz-clash"]
    assert "dialect 'zgh' registered twice (by tmz-core and tmz-clash)" in failure.error


def _docs_kabyle_plugin() -> str:
    """The hook module of docs/plugins.md's "A minimal plugin": its plugin.py and the command hook after it."""
    text = (Path(__file__).resolve().parents[3] / "docs" / "plugins.md").read_text(encoding="utf-8")
    section = text.split("## A minimal plugin", 1)[1].split("## Testing a plugin", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) == 2 and "register_commands" in blocks[1], "docs/plugins.md changed: update this test"
    return blocks[0] + "\n\n" + blocks[1]


def test_a_plugin_command_from_register_commands_runs_under_tmz(tmp_path):
    """docs/plugins.md's Kabyle plugin, installed as a distribution: `tmz kabyle-info` prints the Kabyle
    directions; `tmz --help` lists it; with the plugin not loaded (TMZ_LOAD_PLUGINS=) the command is gone."""
    make_distribution(tmp_path, "tmz-dialect-kabyle", "tmz_dialect_kabyle_plugin", _docs_kabyle_plugin())
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    env.pop(ENV_LOAD, None)
    tmz = [sys.executable, "-c", "from tmz.core.cli import main; main()"]
    info = subprocess.run([*tmz, "kabyle-info"], capture_output=True, text=True, env=env)
    assert info.returncode == 0, info.stderr
    tags = set(info.stdout.split())
    assert {"kab_Latn->fr_Latn", "fr_Latn->kab_Tfng", "en_Latn->kab_Latn", "kab_Tfng->en_Latn"} <= tags
    assert all("kab" in t for t in tags)
    listed = subprocess.run([*tmz, "--help"], capture_output=True, text=True, env=env, check=True)
    assert "kabyle-info" in listed.stdout
    helped = subprocess.run(
        [*tmz, "kabyle-info", "--help"], capture_output=True, text=True, env=env, check=True
    )
    assert "Example:" in helped.stdout and "tmz kabyle-info" in helped.stdout
    gone = subprocess.run([*tmz, "kabyle-info"], capture_output=True, text=True, env={**env, ENV_LOAD: ""})
    assert gone.returncode == 2 and "No such command 'kabyle-info'" in gone.stderr
