"""tmz-export stands alone: no training libraries in its code, and a CLI with help and examples."""

import ast
import re
import shlex
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from tmz.core.cli import cli
from tmz.export import QUANTIZATIONS, ExportError
from tmz.export.recipes import FP16_WEIGHT_ONLY, litert_recipe, recipe_for

SRC = Path(__file__).resolve().parents[1] / "src" / "tmz" / "export"
FORBIDDEN = {"trl", "peft", "bitsandbytes", "datasets"}


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_no_module_imports_training_libraries():
    files = sorted(SRC.glob("*.py"))
    assert len(files) > 5
    offenders = {f.name: imported_roots(f) & FORBIDDEN for f in files if imported_roots(f) & FORBIDDEN}
    assert offenders == {}
    assert "litert_torch" in imported_roots(SRC / "convert.py")  # the scan sees real imports


def test_cli_group_help_lists_its_commands():
    result = CliRunner().invoke(cli, ["export", "--help"], prog_name="tmz")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Usage: tmz export [OPTIONS] COMMAND [ARGS]...")
    group = cli.get_command(click.Context(cli), "export")
    assert set(group.commands) == {"run", "verify"}
    for name, command in group.commands.items():
        start = re.escape(" ".join(command.help.split()[:4]))
        assert re.search(rf"^  {name} +{start}", result.output, re.MULTILINE), name


@pytest.mark.parametrize("name", ["run", "verify"])
def test_cli_help_shows_every_option_and_examples_that_use_only_them(name):
    result = CliRunner().invoke(cli, ["export", name, "--help"])
    assert result.exit_code == 0, result.output
    command = cli.get_command(click.Context(cli), "export").commands[name]
    flat = " ".join(result.output.split())
    unwrapped = re.sub(r"-\s+", "-", flat)  # click also breaks lines after a hyphen ("tf-" / "nightly")
    options = [p for p in command.params if isinstance(p, click.Option)]
    assert len(options) >= 6
    for option in options:
        assert all(f" {opt}" in flat for opt in option.opts + option.secondary_opts), option.name
        assert option.help is None or " ".join(option.help.split()) in unwrapped, option.name
    examples = result.output.split("Example:\n")[1].split("\n\n")[0].splitlines()
    assert len(examples) >= 2
    known = {opt for option in options for opt in option.opts + option.secondary_opts}
    for line in examples:
        words = shlex.split(line.split("#")[0])
        assert words[:3] == ["tmz", "export", name], line
        assert {w.split("=")[0] for w in words if w.startswith("-")} <= known, line


def test_cli_refuses_unknown_quantization(tmp_path):
    result = CliRunner().invoke(
        cli, ["export", "run", str(tmp_path), "--out", str(tmp_path / "x"), "--quantization", "int3"]
    )
    assert result.exit_code != 0 and "int3" in result.output


def test_cli_defaults_are_the_export_options(tmp_path):
    """The defaults exist once: ExportOptions gives both commands and the API theirs."""
    import inspect

    from tmz.export.api import export, verify
    from tmz.export.options import DEFAULTS, ExportOptions

    group = cli.get_command(click.Context(cli), "export")
    for name, command in group.commands.items():
        params = {p.name: p for p in command.params if p.name in ExportOptions.model_fields}
        # a repeatable option (--prefill) has no default of its own: the field's is None
        for field, param in params.items():
            assert (None if param.multiple else param.default) == getattr(DEFAULTS, field), (name, field)
        api = inspect.signature({"run": export, "verify": verify}[name]).parameters
        assert all(api[f].default == getattr(DEFAULTS, f) for f in ExportOptions.model_fields if f in api)
    assert {"quantization", "kv_cache", "parity_prompts", "max_new_tokens"} <= {
        p.name for p in group.commands["run"].params
    }
    result = CliRunner().invoke(
        cli, ["export", "run", str(tmp_path), "--out", str(tmp_path / "x"), "--kv-cache", "0"]
    )
    assert result.exit_code == 1 and "--kv-cache" in result.output and not (tmp_path / "x").exists()


def test_quantization_names_map_to_recipes(tmp_path):
    import typing

    from tmz.core.kinds.export import Quantization

    assert set(QUANTIZATIONS) == {"int8", "int4", "fp16", "fp32"} == set(typing.get_args(Quantization))
    assert recipe_for("int8").llm == "dynamic_wi8_afp32"
    assert recipe_for("fp32").llm is None and litert_recipe(None, tmp_path) == "none"
    with pytest.raises(ExportError, match="int3"):
        recipe_for("int3")


def test_fp16_recipe_is_a_valid_quantizer_recipe(tmp_path):
    from ai_edge_quantizer import recipe_manager

    path = Path(litert_recipe(FP16_WEIGHT_ONLY, tmp_path))
    manager = recipe_manager.RecipeManager()
    manager.load_quantization_recipe(__import__("json").loads(path.read_text()))
    ops = {entry["operation"] for entry in manager.get_quantization_recipe()}
    assert ops == {"FULLY_CONNECTED", "EMBEDDING_LOOKUP"}
    assert all(
        e["op_config"]["weight_tensor_config"]["num_bits"] == 16 for e in manager.get_quantization_recipe()
    )
