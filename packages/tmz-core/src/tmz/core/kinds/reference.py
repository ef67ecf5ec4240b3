"""The field reference of every manifest kind, as Markdown, generated from the models themselves.

``python -m tmz.core.kinds.reference > docs/manifest-fields.md``; a test keeps the file equal to this output.
"""

from __future__ import annotations

import sys
import typing

from pydantic import BaseModel

from tmz.core.manifest import AdapterManifest, BundleManifest, DatasetManifest, ExportManifest, ModelManifest

KINDS = (DatasetManifest, AdapterManifest, ModelManifest, ExportManifest, BundleManifest)
#: Fields every manifest has whose values are models of their own.
COMMON = ("licenses",)


def _name(annotation: object) -> str:
    text = getattr(annotation, "__name__", None) if typing.get_origin(annotation) is None else None
    return text or str(annotation).replace("typing.", "").replace("tmz.core.", "")


def _models(annotation: object) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _models(arg)]


def _doc(model: type[BaseModel]) -> str:
    doc = model.__dict__.get("__doc__") or ""
    return " ".join(doc.strip().split("\n\n")[0].split())


def reference() -> str:
    """Markdown: per kind, its settings and results models and every nested model, field by field."""
    lines = ["# Manifest fields", "", "Generated from `tmz.core.kinds` (`python -m tmz.core.kinds.reference`); "
             "the models are the contract, this page is their index.", ""]  # fmt: skip
    seen: set[type[BaseModel]] = set()
    sections = [("every kind", [DatasetManifest.model_fields[f].annotation for f in COMMON])]
    sections += [(kind.model_fields["kind"].default,
                  [kind.model_fields["settings"].annotation, kind.model_fields["results"].annotation])
                 for kind in KINDS]  # fmt: skip
    for title, queue in sections:
        lines += [f"## {title}", ""]
        todo = [m for a in queue for m in _models(a)]
        while todo:
            model = todo.pop(0)
            if model in seen:
                continue
            seen.add(model)
            lines += [f"### `{model.__module__}.{model.__name__}`", "", _doc(model),
                      "", "| field | type | default | meaning |", "| --- | --- | --- | --- |"]  # fmt: skip
            for name, info in model.model_fields.items():
                default = (
                    "required" if info.is_required() else repr(info.get_default(call_default_factory=True))
                )
                cells = (f"`{name}`", f"`{_name(info.annotation)}`", f"`{default}`", info.description or "")
                lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
                todo += _models(info.annotation)
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":
    sys.stdout.write(reference())
