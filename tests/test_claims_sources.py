"""Claims about the packages' sources and imports: no `trust_remote_code=True` anywhere (tmz-train README "real
backends never use trust_remote_code"), and tmz-bundle and tmz-runtime import without torch."""

from __future__ import annotations

import ast
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import tmz.bundle
import tmz.runtime

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted(ROOT.glob("packages/*/src/**/*.py"))


def remote_code_uses(source: str) -> list[int]:
    """Lines that pass ``trust_remote_code`` a value other than the constant False: a keyword argument, a dict
    literal key or a ``dict(trust_remote_code=...)`` (so a ``**kwargs`` holding it is caught too)."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        pairs = []
        if isinstance(node, ast.Call):
            pairs = [(k.arg, k.value) for k in node.keywords]
        elif isinstance(node, ast.Dict):
            pairs = [
                (k.value, v)
                for k, v in zip(node.keys, node.values, strict=True)
                if isinstance(k, ast.Constant)
            ]
        for key, value in pairs:
            if key == "trust_remote_code" and not (isinstance(value, ast.Constant) and value.value is False):
                lines.append(value.lineno)
    return sorted(lines)


def test_no_source_passes_trust_remote_code():
    assert len(SOURCES) > 100
    offenders = {str(p.relative_to(ROOT)): remote_code_uses(p.read_text(encoding="utf-8")) for p in SOURCES}
    assert {p: lines for p, lines in offenders.items() if lines} == {}


def test_the_scan_sees_keywords_dicts_and_variables():
    source = (
        "f(x, trust_remote_code=True)\n"
        "g(**{'trust_remote_code': True})\n"
        "h(trust_remote_code=flag)\n"
        "k(dict(trust_remote_code=1))\n"
        "ok(trust_remote_code=False)\n"
        "ok2(token=t)\n"
    )
    assert remote_code_uses(source) == [1, 2, 3, 4]


def modules(package) -> list[str]:
    return sorted(m.name for m in pkgutil.walk_packages(package.__path__, f"{package.__name__}."))


def test_bundle_and_runtime_import_every_module_without_torch():
    """Every module of both packages imported in a fresh interpreter (CLIs and plugins included), then no torch
    (nor transformers, which imports it) in sys.modules."""
    names = modules(tmz.bundle) + modules(tmz.runtime)
    assert {"tmz.bundle.build", "tmz.bundle.catalog", "tmz.runtime.translator", "tmz.runtime.cli"} <= set(
        names
    )
    code = (
        "import importlib, json, sys\n"
        f"for name in {names!r}: importlib.import_module(name)\n"
        "print(json.dumps(sorted(m for m in ('torch', 'transformers') if m in sys.modules)))\n"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False)
    assert p.returncode == 0, p.stderr[-4000:]
    assert json.loads(p.stdout.splitlines()[-1]) == []


def test_the_import_scan_sees_torch_when_a_module_brings_it():
    code = "import sys, tmz.train.model; print('torch' in sys.modules)"
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False)
    assert p.returncode == 0, p.stderr[-4000:]
    assert p.stdout.splitlines()[-1] == "True"
