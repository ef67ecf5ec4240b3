"""The license of each source of ``prepare``: given (``--license``, ``--attribution``) or read beside the source.

Beside a source (in its directory) tmz reads a license text (``LICENSE``, ``LICENSE.txt``, ``LICENSE.md``,
``COPYING``: a known license's title in its first lines, or an SPDX id) and a dataset card (``README.md`` whose
YAML front matter has ``license:``, the Hugging Face Hub's form, and optionally ``attribution:``). A license given
as an option covers every source; one found beside a source is kept as well, and the strictest wins.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml

from tmz.core.errors import DataError
from tmz.core.kinds.dataset import PrepareOptions, SourceDescription
from tmz.core.kinds.license import LicenseTerm, announce, unique

LICENSE_FILES = ("LICENSE", "LICENSE.txt", "LICENSE.md", "COPYING")
CARD_FILE = "README.md"
OPTION = "--license"
#: The titles license texts open with, the more specific first.
TITLES = (
    ("Attribution-NonCommercial-NoDerivatives 4.0 International", "CC-BY-NC-ND-4.0"),
    ("Attribution-NonCommercial-ShareAlike 4.0 International", "CC-BY-NC-SA-4.0"),
    ("Attribution-NonCommercial 4.0 International", "CC-BY-NC-4.0"),
    ("Attribution-NoDerivatives 4.0 International", "CC-BY-ND-4.0"),
    ("Attribution-ShareAlike 4.0 International", "CC-BY-SA-4.0"),
    ("Attribution-ShareAlike 3.0", "CC-BY-SA-3.0"),
    ("Attribution 4.0 International", "CC-BY-4.0"),
    ("CC0 1.0 Universal", "CC0-1.0"),
    ("Open Database License", "ODbL-1.0"),
    ("MIT License", "MIT"),
    ("Apache License", "Apache-2.0"),
    ("GNU GENERAL PUBLIC LICENSE", "GPL-3.0-only"),
)
_HEAD = 800  # characters of a license text searched for its title
_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*(\n|\Z)", re.DOTALL)


def source_licenses(described: list[SourceDescription], options: PrepareOptions) -> list[LicenseTerm]:
    """The license terms of every source (``options.license`` for each, and what is found beside it).

    Prints on stderr a source whose license is unknown, and the ShareAlike and non-commercial terms found.
    """
    terms: list[LicenseTerm] = []
    for d in described:
        label, folder = _where(d)
        found = license_beside(folder, label)
        if options.license is not None:
            terms.append(LicenseTerm.of(options.license, label, OPTION, options.attribution))
        elif not found:
            print(
                f"tmz: license: {label}: no license known (no LICENSE file, no {CARD_FILE} with `license:` "
                "beside it); pass --license SPDX-ID (and --attribution) so that cards and published models state it",
                file=sys.stderr,
            )
        terms += [
            t.model_copy(update={"attribution": t.attribution or options.attribution})
            for t in found
            if options.license is None or t.spdx != options.license
        ]
    terms = unique(terms)
    for t in terms:
        if t.attribution is None and t.terms is not None and t.terms.attribution:
            print(
                f"tmz: license: {t.source}: {t.spdx} asks for attribution; pass --attribution",
                file=sys.stderr,
            )
    announce(terms, "the dataset")
    return terms


def license_beside(folder: Path, label: str) -> list[LicenseTerm]:
    """The licenses stated in ``folder`` (its license file, its dataset card), as terms covering ``label``."""
    terms: list[LicenseTerm] = []
    for name in LICENSE_FILES:
        path = folder / name
        if path.is_file():
            spdx = license_of_text(path.read_text(encoding="utf-8", errors="replace"))
            if spdx is None:
                raise DataError(
                    f"{path}: not a license tmz recognises (no known title in its first lines, no SPDX id); "
                    "pass the license explicitly: --license SPDX-ID"
                )
            terms.append(LicenseTerm.of(spdx, label, str(path)))
            break
    card = folder / CARD_FILE
    if card.is_file():
        terms += _card_terms(card, label)
    credits = {t.spdx: t.attribution for t in reversed(terms) if t.attribution}
    return [t.model_copy(update={"attribution": credits.get(t.spdx)}) for t in unique(terms)]


def license_of_text(text: str) -> str | None:
    """The SPDX id of a license text: by its title, or an SPDX id written in it (None when neither)."""
    head = " ".join(text[:_HEAD].split())
    for title, spdx in TITLES:
        if title.casefold() in head.casefold():
            return spdx
    match = re.search(r"(?:SPDX-License-Identifier:\s*)?\b([A-Za-z0-9.+-]+)\b", head)
    if match is None:
        return None
    try:
        return LicenseTerm.of(match.group(1), "", "").spdx
    except ValueError:
        return None


def _card_terms(card: Path, label: str) -> list[LicenseTerm]:
    match = _FRONT_MATTER.match(card.read_text(encoding="utf-8", errors="replace"))
    if match is None:
        return []
    try:
        data = yaml.safe_load(match.group(1))
    except yaml.YAMLError as e:
        raise DataError(
            f"{card}: its YAML front matter does not parse ({e}); fix it or pass --license"
        ) from e
    if not isinstance(data, dict) or not data.get("license"):
        return []
    ids = data["license"] if isinstance(data["license"], list) else [data["license"]]
    attribution = data.get("attribution")
    try:
        return [
            LicenseTerm.of(str(i), label, str(card), str(attribution) if attribution else None) for i in ids
        ]
    except ValueError as e:
        raise DataError(f"{e}; fix the card's `license:` or pass --license") from None


def _where(d: SourceDescription) -> tuple[str, Path]:
    """What a source is called (a table file, or the directory of line-aligned files) and its directory."""
    first = Path(d.files[0].path)
    if len(d.files) == 1 and d.files[0].language is None:
        return str(first), first.parent
    return str(first.parent), first.parent
