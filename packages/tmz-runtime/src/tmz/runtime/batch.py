"""Batch translation of a text file, one segment per line, with line-aligned output."""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

from rich.progress import track

from tmz.core.atomic import write_text_atomic
from tmz.core.errors import DataError
from tmz.runtime.translation import Translation
from tmz.runtime.translator import Translator


def read_lines(path: str | os.PathLike[str]) -> list[str]:
    """The lines of a UTF-8 text file; DataError names the file when it cannot be read."""
    p = Path(path)
    try:
        return p.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise DataError(f"{p}: no such file to translate") from None
    except UnicodeDecodeError as e:
        raise DataError(f"{p}: not UTF-8 at byte {e.start}; save it as UTF-8") from None


def translate_file(
    translator: Translator,
    path: str | os.PathLike[str],
    out: str | os.PathLike[str],
    src: str,
    tgt: str,
    **options: Any,
) -> list[Translation | None]:
    """Translate every line of ``path`` and write ``out`` atomically.

    ``out`` ending in ``.jsonl`` gets one Translation object per line (``null`` for a blank line); any
    other name gets the translated text, line for line. Options are those of ``Translator.translate``.
    """
    lines = read_lines(path)
    results: list[Translation | None] = [
        translator.translate(line, src, tgt, **options) if line.strip() else None
        for line in track(lines, description=f"translating {Path(path).name}", transient=True)
    ]
    if str(out).endswith(".jsonl"):
        text = "".join(json.dumps(asdict(r) if r else None, ensure_ascii=False) + "\n" for r in results)
    else:
        text = "".join((r.text.replace("\n", " ") if r else "") + "\n" for r in results)
    write_text_atomic(out, text)
    return results
