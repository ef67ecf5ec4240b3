"""A bundle checked against the manifest it embeds, without the manifest beside it: its layout (the listed
sections and nothing else, in the container as ``tmz bundle make`` lays it out, no bytes after it) and the size
and sha256 of every section, streamed.

This finds a damaged file and an altered one whose manifest was left as it was; it cannot find a bundle rebuilt
with a manifest that describes the new sections. That takes the file's sha256 from somewhere trusted: the signed
catalog, or the manifest beside the file from the same publisher (docs/security.md).
"""

from __future__ import annotations

import os

from tmz.bundle import litertlmfile, taskfile
from tmz.bundle.errors import BundleError, IntegrityError
from tmz.bundle.reader import BundleInfo, inspect_bundle


def layout_problems(info: BundleInfo) -> list[str]:
    """What in the file is not where (or not what) its embedded manifest and its container say."""
    assert info.manifest is not None
    if info.format == "task":
        problems = taskfile.layout_problems(info.path)
        allowed = {taskfile.MANIFEST}
    else:
        assert info.header_end is not None
        problems = litertlmfile.layout_problems(info.path, info.sections, info.header_end)
        allowed = set()
    allowed |= {c.name for c in info.manifest.results.contents}
    unlisted = sorted({s.name for s in info.sections} - allowed)
    return problems + [f"section {name!r} is not one its manifest lists" for name in unlisted]


def check_contents(info: BundleInfo) -> list[str]:
    """Each section the embedded manifest lists must be there with its recorded size and sha256."""
    assert info.manifest is not None
    checked = []
    for entry in info.manifest.results.contents:
        section = info.section(entry.name)
        if section is None:
            raise IntegrityError(
                f"{info.path}: section {entry.name!r} is missing; the bundle is damaged, rebuild it"
            )
        if section.size != entry.size:
            raise IntegrityError(
                f"{info.path}: section {entry.name!r} has {section.size} bytes, its manifest says {entry.size}; "
                "the bundle is damaged, rebuild it"
            )
        digest = section.sha256(info.path)
        if digest != entry.sha256:
            raise IntegrityError(
                f"{info.path}: section {entry.name!r} has sha256 {digest[:12]}..., its manifest says "
                f"{entry.sha256[:12]}...; the bundle was altered, rebuild it or download it again"
            )
        checked.append(entry.name)
    return checked


def check_integrity(bundle: BundleInfo | str | os.PathLike[str]) -> list[str]:
    """Check a tmz bundle against its embedded manifest (layout, then every section's size and sha256); returns
    the names of the sections checked.

    Raises BundleError for a bundle without a tmz manifest, IntegrityError naming the file and what differs.
    """
    info = bundle if isinstance(bundle, BundleInfo) else inspect_bundle(bundle)
    if info.manifest is None:
        raise BundleError(
            f"{info.path}: holds no tmz manifest, so nothing says what its sections should be; only bundles "
            "made by `tmz bundle make` can be checked"
        )
    problems = layout_problems(info)
    if problems:
        raise IntegrityError(
            f"{info.path}: {'; '.join(problems)}; it is not the file `tmz bundle make` wrote (altered or damaged), "
            "do not use it: rebuild it or download it again"
        )
    return check_contents(info)
