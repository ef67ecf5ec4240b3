"""License terms: read beside a source or given, the strictest wins, and they travel with the manifests."""

from __future__ import annotations

import pytest

from tmz.core.errors import DataError
from tmz.core.kinds.license import LicenseTerm, expression, notices, strictest
from tmz.core.manifest import load_manifest
from tmz.data.licenses import license_beside, license_of_text

CSV = "source_language,target_language,source_text,target_text\nen,zgh_Tfng,Help!,ⴰⵡⵙ!\nen,zgh_Tfng,Thank you.,ⵜⴰⵏⵎⵎⵉⵔⵜ.\n"


def term(spdx: str, source: str = "corpus.csv") -> LicenseTerm:
    return LicenseTerm.of(spdx, source, "--license")


def test_flags_come_from_the_license() -> None:
    sa, nc = term("cc-by-sa-4.0"), term("CC-BY-NC-4.0")
    assert (
        sa.spdx == "CC-BY-SA-4.0" and sa.share_alike and not sa.non_commercial and sa.hub_id == "cc-by-sa-4.0"
    )
    assert nc.non_commercial and not nc.share_alike
    assert not term("Apache-2.0").flags() and term("CC-BY-NC-SA-4.0").flags() == [
        "ShareAlike",
        "NonCommercial",
    ]


def test_the_strictest_terms_win() -> None:
    assert expression([term("Apache-2.0"), term("CC-BY-SA-4.0", "b"), term("CC0-1.0", "c")]) == "CC-BY-SA-4.0"
    assert expression([term("CC-BY-SA-4.0"), term("CC-BY-NC-SA-4.0", "b")]) == "CC-BY-NC-SA-4.0"
    assert expression([term("CC-BY-SA-4.0"), term("ODbL-1.0", "b")]) == "CC-BY-SA-4.0 AND ODbL-1.0"
    assert strictest([term("MIT"), term("LicenseRef-gemma", "b")])[0].spdx == "LicenseRef-gemma"
    assert strictest([]) == [] and expression([]) is None


def test_share_alike_and_non_commercial_are_noted() -> None:
    [sa, nc] = notices([term("CC-BY-SA-4.0"), term("CC-BY-NC-4.0", "other.csv"), term("MIT", "x")])
    assert "corpus.csv, licensed CC-BY-SA-4.0" in sa and "ShareAlike" in sa
    assert "NonCommercial" in nc


def test_an_unknown_license_is_refused_with_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"--license: 'GPL' is no SPDX id tmz knows; give one of CC0-1.0"):
        term("GPL")
    with pytest.raises(ValueError, match="LicenseRef-<name>"):
        LicenseTerm.of("LicenseRef-", "x", "y")


def test_license_texts_are_recognised_by_title_or_spdx_id() -> None:
    assert (
        license_of_text("Attribution-ShareAlike 4.0 International\n\n=====\nCreative Commons ...")
        == "CC-BY-SA-4.0"
    )
    assert license_of_text("   Attribution-NonCommercial-ShareAlike 4.0 International") == "CC-BY-NC-SA-4.0"
    assert license_of_text("SPDX-License-Identifier: MIT\n") == "MIT"
    assert license_of_text("cc-by-4.0") == "CC-BY-4.0"
    assert license_of_text("All rights reserved by someone.") is None


def test_license_file_and_dataset_card_beside_a_source(tmp_path) -> None:
    (tmp_path / "LICENSE").write_text("Attribution-ShareAlike 4.0 International\n", encoding="utf-8")
    (tmp_path / "README.md").write_text("---\nlicense: cc-by-sa-4.0\nattribution: Seed, OLDI\n---\n# Seed\n")
    [t] = license_beside(tmp_path, "seed")  # the same license twice: once, credited as the card says
    assert t.spdx == "CC-BY-SA-4.0" and t.found_in.endswith("LICENSE") and t.attribution == "Seed, OLDI"
    (tmp_path / "README.md").write_text("---\nlicense: [cc-by-4.0]\n---\n# Seed\n")
    assert [t.spdx for t in license_beside(tmp_path, "seed")] == ["CC-BY-SA-4.0", "CC-BY-4.0"]
    (tmp_path / "LICENSE").unlink()
    (tmp_path / "README.md").write_text("# no front matter\n")
    assert license_beside(tmp_path, "seed") == []


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("LICENSE", "Do what you like, mostly.\n", "not a license tmz recognises"),
        ("README.md", "---\nlicense: [unclosed\n---\n", "front matter does not parse"),
        ("README.md", "---\nlicense: beerware\n---\n", "'beerware' is no SPDX id"),
    ],
)
def test_bad_license_files_are_clear_errors(tmp_path, name, text, message) -> None:
    (tmp_path / name).write_text(text, encoding="utf-8")
    with pytest.raises(DataError, match=message) as e:
        license_beside(tmp_path, "corpus")
    assert str(tmp_path / name) in str(e.value)


def test_prepare_records_the_license_option_and_flags_share_alike(tmp_path, capfd) -> None:
    from click.testing import CliRunner

    from tmz.core.cli import cli

    (tmp_path / "corpus.csv").write_text(CSV, encoding="utf-8")
    args = ["data", "prepare", str(tmp_path / "corpus.csv"), "--out", str(tmp_path / "data"), "-q",
            "--license", "CC-BY-SA-4.0", "--attribution", "Example phrases, tmz tests", "--test-ratio", "0", "--validation-ratio", "0"]  # fmt: skip
    run = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert run.exit_code == 0, run.output
    m = load_manifest(tmp_path / "data", expect_kind="dataset")
    [t] = m.licenses
    assert (t.spdx, t.found_in, t.attribution, t.share_alike) == (
        "CC-BY-SA-4.0",
        "--license",
        "Example phrases, tmz tests",
        True,
    )
    assert m.settings.license == "CC-BY-SA-4.0"
    assert "tmz: license: the dataset derives from" in run.output and "ShareAlike" in run.output
    # what a later stage inherits: the terms, announced again
    assert m.coverage()["licenses"] == [t.model_dump()]
    assert "derives from" in capfd.readouterr().err


def test_prepare_warns_when_no_license_is_known_and_refuses_a_bad_option(tmp_path, capfd) -> None:
    from tmz.core.errors import ConfigError
    from tmz.data import prepare

    (tmp_path / "corpus.csv").write_text(CSV, encoding="utf-8")
    m = prepare(
        tmp_path / "corpus.csv", tmp_path / "data", progress=False, test_ratio=0.0, validation_ratio=0.0
    )
    assert m.licenses == [] and "no license known" in capfd.readouterr().err
    with pytest.raises(ConfigError, match="license: 'nope' is no SPDX id"):
        prepare(tmp_path / "corpus.csv", tmp_path / "data2", progress=False, license="nope")
