"""atomic_directory: what an --out may replace, inputs never, and no partial folder outlives its process."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tmz.core.atomic import _prefix, atomic_directory, check_output, sweep_stale
from tmz.core.errors import OutputError


def artifact(path: Path, kind: str = "dataset", files: tuple[str, ...] = ("data.txt",)) -> Path:
    """A folder as tmz writes one: its files and a manifest of ``kind`` listing them."""
    path.mkdir(parents=True)
    for name in files:
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text("old", encoding="utf-8")
    entries = [{"path": f, "sha256": "0" * 64, "size": 3} for f in files]
    (path / "tmz-manifest.json").write_text(json.dumps({"kind": kind, "files": entries}), encoding="utf-8")
    return path


def write(out: Path, **options) -> None:
    with atomic_directory(out, "dataset", **options) as tmp:
        (tmp / "new.txt").write_text("new", encoding="utf-8")


def siblings(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}."))


def test_a_folder_tmz_did_not_write_is_refused_and_kept(tmp_path):
    out = tmp_path / "important"
    out.mkdir()
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(OutputError, match=r"important: holds notes.txt and no tmz manifest.*--overwrite"):
        write(out)
    assert (out / "notes.txt").read_text(encoding="utf-8") == "mine" and not siblings(out)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda p: artifact(p, kind="model"), "is a 'model' artifact, not a dataset"),
        (
            lambda p: (artifact(p), (p / "notes.txt").write_text("mine"))[0],
            "holds notes.txt, which its manifest",
        ),
        (lambda p: (p.mkdir(), (p / "tmz-manifest.json").write_text("{"))[0], "not a readable tmz manifest"),
        (lambda p: p.write_text("a file"), "is a file"),
    ],
    ids=["other kind", "unlisted file", "broken manifest", "a file"],
)
def test_what_is_not_a_dataset_tmz_wrote_is_refused(tmp_path, make, match):
    out = tmp_path / "out"
    make(out)
    before = sorted(p.name for p in tmp_path.rglob("*"))
    with pytest.raises(OutputError, match=match):
        write(out)
    assert sorted(p.name for p in tmp_path.rglob("*")) == before


def test_an_empty_folder_or_a_dataset_tmz_wrote_is_replaced(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    write(empty)
    # caches that `datasets` leaves below a listed folder (hf/train/cache-*.arrow) do not block a rerun
    ours = artifact(tmp_path / "ours", files=("hf/train/data.arrow",))
    (ours / "hf" / "train" / "cache-1.arrow").write_text("cache", encoding="utf-8")
    (ours / "README.md").write_text("---\ntags: [tmz]\n---\n", encoding="utf-8")  # its card (tmz-publish)
    write(ours)
    for out in (empty, ours):
        assert sorted(p.name for p in out.iterdir()) == ["new.txt"] and not siblings(out)


def test_overwrite_replaces_anything_but_only_when_asked(tmp_path):
    out = tmp_path / "important"
    out.mkdir()
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    write(out, overwrite=True)
    assert sorted(p.name for p in out.iterdir()) == ["new.txt"] and not siblings(out)


def test_a_symbolic_link_is_refused_and_overwrite_replaces_the_link_not_its_target(tmp_path):
    target = artifact(tmp_path / "target")
    link = tmp_path / "link"
    link.symlink_to(target)
    with pytest.raises(OutputError, match="is a symbolic link"):
        write(link)
    write(link, overwrite=True)
    assert not link.is_symlink() and (link / "new.txt").is_file()
    assert sorted(p.name for p in target.iterdir()) == ["data.txt", "tmz-manifest.json"]


@pytest.mark.parametrize(
    ("out", "how"),
    [("corpus", "is"), ("corpus/sub", "lies inside"), (".", "holds"), ("link", "is")],
    ids=["the input", "inside the input", "parent of the input", "a link to the input"],
)
def test_an_input_is_never_the_output_even_with_overwrite(tmp_path, out, how):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "seed_eng_Latn").write_text("Hello\n", encoding="utf-8")
    (tmp_path / "link").symlink_to(corpus)
    for overwrite in (False, True):
        with pytest.raises(
            OutputError, match=rf"the output {how} the input .*--overwrite does not change this"
        ):
            write(tmp_path / out, overwrite=overwrite, inputs=[corpus])
    with pytest.raises(OutputError, match="holds the input"):
        check_output(tmp_path, "dataset", overwrite=True, inputs=[corpus / "seed_eng_Latn"])
    assert sorted(p.name for p in corpus.iterdir()) == ["seed_eng_Latn"]


def test_the_output_is_checked_again_before_it_is_replaced(tmp_path):
    out = tmp_path / "out"
    with pytest.raises(OutputError, match="holds notes.txt"), atomic_directory(out, "dataset") as tmp:
        (tmp / "new.txt").write_text("new", encoding="utf-8")
        out.mkdir()  # someone else wrote there meanwhile
        (out / "notes.txt").write_text("mine", encoding="utf-8")
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"] and not siblings(out)


HOLD = """
import sys, time
from pathlib import Path
import click
from tmz.core.atomic import atomic_directory, scratch_directory
from tmz.core.cli import cli, main

@cli.command("hold")
@click.argument("out", type=click.Path(path_type=Path))
def hold(out):
    with atomic_directory(out, "dataset") as tmp, scratch_directory(out) as work:
        (tmp / "half.bin").write_bytes(b"x" * 4096)
        (work / "candidates.arrow").write_bytes(b"x" * 4096)
        print("ready", flush=True)
        time.sleep(120)

sys.argv = ["tmz", "hold", sys.argv[1]]
main()
"""


def _hold(out: Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(HOLD), str(out)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
    return proc


def test_sigterm_removes_the_partial_and_work_folders(tmp_path):
    out = tmp_path / "data"
    proc = _hold(out)
    assert len(siblings(out)) == 2  # .data.partial.* and .data.work.*
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 128 + signal.SIGTERM, proc.stderr.read()
    assert "Traceback" not in proc.stderr.read()
    assert not out.exists() and not siblings(out)


def test_what_a_killed_process_left_is_swept_by_the_next_write(tmp_path):
    out = tmp_path / "data"
    proc = _hold(out)
    left = siblings(out)
    assert sweep_stale(out) == [] and siblings(out) == left  # its process is alive: kept
    proc.kill()
    proc.wait(timeout=60)
    assert siblings(out) == left  # SIGKILL cannot be handled: the folders stay ...
    other_host = tmp_path / ".data.partial.otherhost.1.abc"  # a pid there cannot be checked from here
    alive = tmp_path / f"{_prefix(out, 'work')}live"  # this process's: alive
    for p in (other_host, alive):
        p.mkdir()
    write(out)  # ... until the next write of the same out, which removes those of dead processes here
    assert siblings(out) == sorted([other_host.name, alive.name])
    assert sorted(p.name for p in out.iterdir()) == ["new.txt"]
