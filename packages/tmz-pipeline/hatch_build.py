"""Build hook: the wheel (and the sdist) carry the checkout's example corpus as package data.

The corpus has one copy in the repository, ``examples/corpus``; the wheel gets it as ``tmz/pipeline/data``, so
``tmz demo`` works after ``pip install tmz-pipeline``. Editable installs read the checkout's copy instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

#: The files of examples/corpus the demo uses (README.md: what the data is, and that it is not reviewed).
CORPUS_FILES = ("phrases.csv", "README.md")
PACKAGE_DATA = "src/tmz/pipeline/data"


class CorpusHook(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if version == "editable":
            return
        checkout = Path(self.root).resolve().parents[1] / "examples" / "corpus"
        inside = PACKAGE_DATA.removeprefix("src/") if self.target_name == "wheel" else PACKAGE_DATA
        for name in CORPUS_FILES:
            # building from an unpacked sdist: the files are already in the package
            if (checkout / name).is_file() and not (Path(self.root) / PACKAGE_DATA / name).exists():
                build_data["force_include"][str(checkout / name)] = f"{inside}/{name}"
