"""A missing ../shared/data fails the tests that need it, unless TMZ_ALLOW_NO_SHARED=1 asks to skip them."""

import pytest

import tmz_shared


@pytest.fixture
def absent(tmp_path, monkeypatch):
    monkeypatch.setattr(tmz_shared, "SHARED_DATA", tmp_path / "shared" / "data")
    monkeypatch.delenv(tmz_shared.ENV_ALLOW, raising=False)
    return tmp_path / "shared" / "data"


def test_present_data_is_returned():
    path = tmz_shared.shared_data("ircam_tifinagh_latin.tsv")
    assert path.is_file() and path.parent == tmz_shared.SHARED_DATA


def test_absent_data_fails_saying_where_and_what_to_do(absent):
    with pytest.raises(pytest.fail.Exception) as failed:
        tmz_shared.shared_data("oldi_seed_zgh_eng")
    message = str(failed.value)
    assert str(absent / "oldi_seed_zgh_eng") in message and "TMZ_ALLOW_NO_SHARED=1" in message


def test_absent_data_skips_only_when_allowed(absent, monkeypatch):
    monkeypatch.setenv(tmz_shared.ENV_ALLOW, "1")
    with pytest.raises(pytest.skip.Exception, match="is absent"):
        tmz_shared.shared_data("oldi_seed_zgh_eng")
