"""`examples/compose.py` runs the chain "with the packages' public APIs only" (README), checked on its imports.

"Public" here: a name imported with ``from tmz.<pkg> import NAME`` from a package's top-level namespace (exactly
two dotted parts) and listed in that package's ``__all__``. Importing a submodule (``tmz.pipeline.demo``), a
module itself (``import tmz.x``), a relative import or a name outside ``__all__`` is private; third-party and
standard-library imports are not the packages' API and are not checked.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

COMPOSE = Path(__file__).resolve().parents[1] / "examples" / "compose.py"


def private_imports(source: str) -> list[str]:
    """Every import of tmz in ``source`` that is not a public name, as ``module:name`` (or the module)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.split(".")[0] == "tmz"]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                found.append("." * node.level + module)
            elif module.split(".")[0] == "tmz":
                parts = module.split(".")
                public = set(importlib.import_module(module).__all__) if len(parts) == 2 else set()
                found += [f"{module}:{a.name}" for a in node.names if a.name not in public]
    return found


def tmz_names(source: str) -> set[str]:
    return {
        f"{n.module}:{a.name}"
        for n in ast.walk(ast.parse(source))
        if isinstance(n, ast.ImportFrom) and (n.module or "").startswith("tmz.")
        for a in n.names
    }


def test_compose_example_imports_public_names_only():
    source = COMPOSE.read_text(encoding="utf-8")
    assert private_imports(source) == []
    names = tmz_names(source)
    for expected in ("tmz.data:prepare", "tmz.train:finetune", "tmz.export:export", "tmz.bundle:bundle"):
        assert expected in names  # the scan sees the chain's real imports
    assert len(names) >= 8


def test_the_scan_flags_submodules_modules_relative_and_unlisted_names():
    source = (
        "from tmz.pipeline.demo import TRAIN_OVERRIDES\n"
        "import tmz.train.sft\n"
        "from . import helpers\n"
        "from tmz.train import lora_config\n"
        "from tmz.train import finetune\n"
        "import json\n"
    )
    assert private_imports(source) == [
        "tmz.pipeline.demo:TRAIN_OVERRIDES",
        "tmz.train.sft",
        ".",
        "tmz.train:lora_config",
    ]


def test_every_public_name_the_example_uses_resolves():
    for entry in sorted(tmz_names(COMPOSE.read_text(encoding="utf-8"))):
        module, name = entry.split(":")
        assert getattr(importlib.import_module(module), name) is not None, entry
