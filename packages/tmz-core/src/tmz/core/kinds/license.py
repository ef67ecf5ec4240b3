"""The license terms of an artifact's sources, carried by every manifest derived from them (``licenses``).

A dataset records the license of each corpus it was prepared from (an SPDX id, with its attribution); every later
stage inherits the list through :meth:`~tmz.core.manifest._ManifestBase.coverage`. Of several terms the strictest
wins (:func:`strictest`): no-derivatives over non-commercial over ShareAlike over attribution over public domain.
ShareAlike, non-commercial and no-derivatives terms are announced by each stage that derives from them
(:func:`announce`) and flagged in the term itself.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import NamedTuple

from pydantic import Field

from tmz.core.kinds.base import Record


class Terms(NamedTuple):
    """What a license asks of whoever shares a derived work."""

    hub_id: str  # the Hugging Face Hub's license identifier
    name: str
    url: str
    attribution: bool = True
    share_alike: bool = False
    non_commercial: bool = False
    no_derivatives: bool = False


_CC = "https://creativecommons.org/licenses"
#: The licenses tmz knows, by SPDX id (others: ``LicenseRef-<name>``, treated as the strictest: read them).
KNOWN: dict[str, Terms] = {
    "CC0-1.0": Terms("cc0-1.0", "CC0 1.0 Universal", "https://creativecommons.org/publicdomain/zero/1.0/",
                     attribution=False),
    "MIT": Terms("mit", "MIT License", "https://opensource.org/license/mit"),
    "Apache-2.0": Terms("apache-2.0", "Apache License 2.0", "https://www.apache.org/licenses/LICENSE-2.0"),
    "BSD-2-Clause": Terms("bsd-2-clause", "BSD 2-Clause License", "https://opensource.org/license/bsd-2-clause"),
    "BSD-3-Clause": Terms("bsd-3-clause", "BSD 3-Clause License", "https://opensource.org/license/bsd-3-clause"),
    "CC-BY-3.0": Terms("cc-by-3.0", "Creative Commons Attribution 3.0", f"{_CC}/by/3.0/"),
    "CC-BY-4.0": Terms("cc-by-4.0", "Creative Commons Attribution 4.0 International", f"{_CC}/by/4.0/"),
    "ODC-By-1.0": Terms("odc-by", "Open Data Commons Attribution License v1.0",
                        "https://opendatacommons.org/licenses/by/1-0/"),
    "CC-BY-SA-3.0": Terms("cc-by-sa-3.0", "Creative Commons Attribution-ShareAlike 3.0", f"{_CC}/by-sa/3.0/",
                          share_alike=True),
    "CC-BY-SA-4.0": Terms("cc-by-sa-4.0", "Creative Commons Attribution-ShareAlike 4.0 International",
                          f"{_CC}/by-sa/4.0/", share_alike=True),
    "ODbL-1.0": Terms("odbl", "Open Data Commons Open Database License v1.0",
                      "https://opendatacommons.org/licenses/odbl/1-0/", share_alike=True),
    "GPL-3.0-only": Terms("gpl-3.0", "GNU General Public License v3.0", "https://www.gnu.org/licenses/gpl-3.0",
                          share_alike=True),
    "CC-BY-NC-4.0": Terms("cc-by-nc-4.0", "Creative Commons Attribution-NonCommercial 4.0 International",
                          f"{_CC}/by-nc/4.0/", non_commercial=True),
    "CC-BY-NC-SA-4.0": Terms("cc-by-nc-sa-4.0",
                             "Creative Commons Attribution-NonCommercial-ShareAlike 4.0 International",
                             f"{_CC}/by-nc-sa/4.0/", share_alike=True, non_commercial=True),
    "CC-BY-ND-4.0": Terms("cc-by-nd-4.0", "Creative Commons Attribution-NoDerivatives 4.0 International",
                          f"{_CC}/by-nd/4.0/", no_derivatives=True),
    "CC-BY-NC-ND-4.0": Terms("cc-by-nc-nd-4.0",
                             "Creative Commons Attribution-NonCommercial-NoDerivatives 4.0 International",
                             f"{_CC}/by-nc-nd/4.0/", non_commercial=True, no_derivatives=True),
}  # fmt: skip
CUSTOM_PREFIX = "LicenseRef-"


def spdx_id(text: str, where: str) -> str:
    """The SPDX id for ``text`` (any case; a Hub id such as ``cc-by-sa-4.0`` too); ValueError naming ``where``."""
    wanted = text.strip()
    for spdx, terms in KNOWN.items():
        if wanted.casefold() in (spdx.casefold(), terms.hub_id):
            return spdx
    if wanted.startswith(CUSTOM_PREFIX) and len(wanted) > len(CUSTOM_PREFIX):
        return wanted
    raise ValueError(
        f"{where}: {text!r} is no SPDX id tmz knows; give one of {', '.join(KNOWN)}, or {CUSTOM_PREFIX}<name> "
        "for any other (tmz then treats its terms as the strictest: read them)"
    )


class LicenseTerm(Record):
    """The license of one source of an artifact, as read or given when the dataset was prepared."""

    spdx: str = Field(
        description="SPDX id, e.g. CC-BY-SA-4.0 (LicenseRef-<name>: a license tmz does not know)"
    )
    source: str = Field(description="the corpus file or directory it covers")
    found_in: str = Field(
        description="where it was read: the --license option, a LICENSE file or a dataset card"
    )
    attribution: str | None = Field(default=None, description="whom to credit and how (title, authors, link)")
    share_alike: bool = Field(
        default=False, description="derived works must be shared under the same license"
    )
    non_commercial: bool = Field(default=False, description="no commercial use of derived works")
    no_derivatives: bool = Field(default=False, description="no derived works may be shared at all")

    @classmethod
    def of(cls, license: str, source: str, found_in: str, attribution: str | None = None) -> LicenseTerm:
        """A term with its flags filled from :data:`KNOWN`; ValueError naming ``found_in`` for an unknown id."""
        spdx = spdx_id(license, found_in)
        t = KNOWN.get(spdx)
        flags = {"share_alike": t.share_alike, "non_commercial": t.non_commercial,
                 "no_derivatives": t.no_derivatives} if t else {}  # fmt: skip
        return cls(spdx=spdx, source=source, found_in=found_in, attribution=attribution or None, **flags)

    @property
    def terms(self) -> Terms | None:
        """The license as tmz knows it (None: a LicenseRef-)."""
        return KNOWN.get(self.spdx)

    @property
    def hub_id(self) -> str:
        """The Hugging Face Hub's identifier of the license (``other`` for a LicenseRef-)."""
        return self.terms.hub_id if self.terms else "other"

    @property
    def strictness(self) -> tuple[bool, bool, bool, bool, bool]:
        """Orders terms (larger is stricter): a license tmz does not know, then no-derivatives, non-commercial,
        ShareAlike, attribution."""
        t = self.terms
        if t is None:
            return (True, False, False, False, False)
        return (False, self.no_derivatives, self.non_commercial, self.share_alike, t.attribution)

    def flags(self) -> list[str]:
        """The terms that bind a derived work, in words (empty for permissive licenses)."""
        found = [("ShareAlike", self.share_alike), ("NonCommercial", self.non_commercial),
                 ("NoDerivatives", self.no_derivatives), ("custom terms", self.terms is None)]  # fmt: skip
        return [name for name, on in found if on]


def strictest(terms: Iterable[LicenseTerm]) -> list[LicenseTerm]:
    """The terms that win: the strictest ones, one per SPDX id (several when equally strict and different)."""
    terms = list(terms)
    if not terms:
        return []
    top = max(t.strictness for t in terms)
    chosen: dict[str, LicenseTerm] = {}
    for t in terms:
        if t.strictness == top:
            chosen.setdefault(t.spdx, t)
    return list(chosen.values())


def expression(terms: Iterable[LicenseTerm]) -> str | None:
    """The SPDX expression of the license that wins (``A AND B`` when two equally strict ones apply)."""
    ids = [t.spdx for t in strictest(terms)]
    return " AND ".join(ids) if ids else None


def unique(terms: Iterable[LicenseTerm]) -> list[LicenseTerm]:
    """``terms`` without repeats (same license for the same source), in order."""
    seen: dict[tuple[str, str], LicenseTerm] = {}
    for t in terms:
        seen.setdefault((t.spdx, t.source), t)
    return list(seen.values())


def notices(terms: Iterable[LicenseTerm]) -> list[str]:
    """One sentence per binding term: what it asks of whoever shares what is derived from the source."""
    lines = []
    for t in unique(terms):
        if not t.flags():
            continue
        asks = []
        if t.share_alike:
            asks.append(f"share what is derived from it under {t.spdx} (ShareAlike)")
        if t.non_commercial:
            asks.append("no commercial use (NonCommercial)")
        if t.no_derivatives:
            asks.append("no derived work may be shared (NoDerivatives)")
        if t.terms is None:
            asks.append(f"read the terms of {t.spdx} before sharing")
        lines.append(f"{t.source}, licensed {t.spdx}: {'; '.join(asks)}")
    return lines


def announce(terms: Iterable[LicenseTerm], what: str) -> None:
    """Print, on stderr, the binding terms an artifact (``what``) inherits from its sources."""
    for line in notices(terms):
        print(f"tmz: license: {what} derives from {line}", file=sys.stderr)
