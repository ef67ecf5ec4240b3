"""The conversion in a child process (``python -m tmz.export.isolated REQUEST RESULT``).

litert-torch, TensorFlow and ai-edge-quantizer keep most of what the conversion used after it returns (measured on
the gemma-3-1b architecture: 6.2 GiB of its 8.2 GiB peak stayed resident, whatever ``gc`` and ``malloc_trim`` did),
and the parity check then loads the checkpoint again beside it. A child process gives all of it back when it
exits. The request and the result travel as JSON files; a TmzError in the child comes back with its message.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from tmz.core import errors as core_errors
from tmz.core.errors import TmzError
from tmz.core.kinds.base import ImageNormalisation
from tmz.core.kinds.export import Components
from tmz.export import errors as export_errors
from tmz.export.checkpoint import Checkpoint, open_checkpoint
from tmz.export.errors import ExportError
from tmz.export.recipes import recipe_for


def convert_isolated(
    ckpt: Checkpoint,
    work: Path,
    quantization: str,
    prefill_lengths: list[int],
    kv_cache_max_len: int,
    vision: bool,
    normalisation: ImageNormalisation | None,
    model_dtype: str,
    converter: str,
) -> Components:
    """:func:`tmz.export.convert.convert` of ``ckpt`` into ``work``, run in a fresh Python process."""
    request = {
        "checkpoint": str(ckpt.path), "backend": ckpt.backend.name, "work": str(work),
        "quantization": quantization, "prefill_lengths": list(prefill_lengths),
        "kv_cache_max_len": kv_cache_max_len, "vision": vision,
        "normalisation": None if normalisation is None else normalisation.model_dump(mode="json"),
        "model_dtype": model_dtype, "converter": converter,
    }  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="tmz-convert-") as tmp:
        request_file, result_file = Path(tmp) / "request.json", Path(tmp) / "result.json"
        request_file.write_text(json.dumps(request), encoding="utf-8")
        # the child imports what this process imports (sys.path, e.g. a plugin added at run time); a fixed hash
        # seed makes its files reproducible (litert-torch writes the stop tokens from a set of strings)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p), "PYTHONHASHSEED": "0"}
        cmd = [sys.executable, "-m", "tmz.export.isolated", str(request_file), str(result_file)]
        code = subprocess.run(cmd, env=env, check=False).returncode
        result = json.loads(result_file.read_text(encoding="utf-8")) if result_file.is_file() else None
    if result is None:
        raise ExportError(
            f"{ckpt.path}: the conversion process ended with {_ending(code)} before writing its result; its log "
            "above says why. Killed (SIGKILL) usually means out of memory: export with --converter "
            "v1-lightweight, or on a machine with more memory"
        )
    if "error" in result:
        raise _error_class(result["type"])(result["error"])
    return Components.model_validate(result["components"])


def _ending(code: int) -> str:
    if code < 0:
        return f"signal {signal.Signals(-code).name}"
    return f"exit code {code}"


def _error_class(name: str) -> type[TmzError]:
    """The tmz error class of that name (tmz-export's or tmz-core's), else ExportError."""
    found = getattr(export_errors, name, None) or getattr(core_errors, name, None)
    return found if isinstance(found, type) and issubclass(found, TmzError) else ExportError


def main(request_file: str, result_file: str) -> int:
    """The child: convert as requested, write the components (or the TmzError) to ``result_file``."""
    from tmz.export.convert import convert  # litert-torch: imported here only

    r = json.loads(Path(request_file).read_text(encoding="utf-8"))
    try:
        ckpt = open_checkpoint(r["checkpoint"], r["backend"])
        given = r["normalisation"]
        normalisation = None if given is None else ImageNormalisation.model_validate(given)
        components = convert(
            ckpt, Path(r["work"]), recipe_for(r["quantization"]), r["prefill_lengths"], r["kv_cache_max_len"],
            r["vision"], normalisation, model_dtype=r["model_dtype"], converter=r["converter"],
        )  # fmt: skip
        result, code = {"components": components.model_dump(mode="json")}, 0
    except TmzError as e:
        result, code = {"error": str(e), "type": type(e).__name__}, 1
    Path(result_file).write_text(json.dumps(result), encoding="utf-8")
    return code


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
