"""``tmz publish``: what would go to the Hub (the plan: files, card, license) and the upload itself."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tmz.core.kinds.license import LicenseTerm, expression, notices
from tmz.core.scoring import Evaluation
from tmz.publish.artifact import CARD_NAME, Artifact
from tmz.publish.card import RepoType, make_card
from tmz.publish.errors import PublishError
from tmz.publish.validate import check_card

TOKEN_ENV = "HF_TOKEN"
_REPO = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*")


@dataclass(frozen=True)
class Upload:
    """One file of the repository: where it is here and where it goes."""

    local: Path
    path_in_repo: str
    size: int


@dataclass(frozen=True)
class Plan:
    """Exactly what ``tmz publish`` sends: the files, the card (and where it came from), the license."""

    repo: str
    repo_type: RepoType
    private: bool
    artifact: Artifact
    files: list[Upload]
    card: str
    card_source: str
    license: str
    terms: list[LicenseTerm]

    @property
    def total(self) -> int:
        return sum(f.size for f in self.files) + len(self.card.encode())


def plan(
    artifact: Artifact, repo: str, *, private: bool = False, card_file: str | Path | None = None,
    evaluation: Evaluation | None = None, links: dict[str, str] | None = None,
) -> Plan:  # fmt: skip
    """What publishing ``artifact`` to ``repo`` would upload. The card is ``card_file``, else the one beside the
    artifact, else made now; refused (PublishError) when the lineage records no license, or the card does not
    state the license terms the lineage carries."""
    if not _REPO.fullmatch(repo):
        raise PublishError(
            f"--repo {repo!r}: write it as ORG/NAME (a Hugging Face user or organisation, a name)"
        )
    terms = artifact.licenses()
    if not terms:
        raise PublishError(
            f"{artifact.path}: its lineage records no license for the data it was made from; prepare the dataset "
            "with the corpus's license (tmz data prepare --license SPDX-ID, or a LICENSE file beside the corpus) "
            "and rebuild, so that the card can state it"
        )
    made = make_card(artifact, evaluation=evaluation, links=links, name=repo.split("/")[1])
    beside = artifact.card_path()
    if card_file is not None:
        text, source = _read(Path(card_file)), str(card_file)
    elif beside.is_file():
        text, source = _read(beside), str(beside)
    else:
        text, source = made.text, "made from the manifests now"
    check_card(text, made.repo_type, terms, source)
    files = [Upload(p, p.relative_to(artifact.root).as_posix(), p.stat().st_size) for p in artifact.files()]
    manifest = artifact.manifest_file
    files.append(Upload(manifest, manifest.name, manifest.stat().st_size))
    return Plan(repo, made.repo_type, private, artifact, files, text, source, made.license, terms)


def _read(path: Path) -> str:
    if not path.is_file():
        raise PublishError(f"{path}: no such card file")
    return path.read_text(encoding="utf-8")


def describe(p: Plan) -> list[str]:
    """The plan in lines: repository, each file with its size, the card, the license and what it asks."""
    lines = [f"repository: {p.repo} ({p.repo_type}, {'private' if p.private else 'public'})", "files:"]
    width = max(len(f.path_in_repo) for f in p.files)
    lines += [f"  {f.path_in_repo:<{width}}  {f.size:>12,} B" for f in p.files]
    lines.append(f"  {CARD_NAME:<{width}}  {len(p.card.encode()):>12,} B  card ({p.card_source})")
    lines.append(f"total: {len(p.files) + 1} files, {p.total:,} B")
    lines.append(f"license: {p.license} ({expression(p.terms)})")
    for t in p.terms:
        credit = f"; attribution: {t.attribution}" if t.attribution else ""
        lines.append(f"  {t.spdx} from {t.source} (stated in {t.found_in}{credit})")
    lines += [f"  note: {n}" for n in notices(p.terms)]
    return lines


def upload(p: Plan, api: Any | None = None, token: str | None = None) -> str:
    """Create the repository (if need be) and upload the plan's files and card; returns the repository's URL.

    The token is ``token``, else the HF_TOKEN environment variable.
    """
    token = token or os.environ.get(TOKEN_ENV)
    if not token:
        raise PublishError(
            f"no Hugging Face token: set {TOKEN_ENV} to a write token (huggingface.co/settings/tokens)"
        )
    if api is None:
        from huggingface_hub import HfApi

        api = HfApi(token=token)
    a = p.artifact
    message = f"tmz publish: {a.kind} {a.manifest.name}"
    url = api.create_repo(p.repo, repo_type=p.repo_type, private=p.private, exist_ok=True)
    if a.bundle:
        for f in p.files:
            api.upload_file(path_or_fileobj=str(f.local), path_in_repo=f.path_in_repo, repo_id=p.repo,
                            repo_type=p.repo_type, commit_message=message)  # fmt: skip
    else:
        api.upload_folder(folder_path=str(a.root), repo_id=p.repo, repo_type=p.repo_type, commit_message=message,
                          allow_patterns=[f.path_in_repo for f in p.files])  # fmt: skip
    api.upload_file(path_or_fileobj=p.card.encode("utf-8"), path_in_repo=CARD_NAME, repo_id=p.repo,
                    repo_type=p.repo_type, commit_message=f"{message}: card")  # fmt: skip
    return str(url)
