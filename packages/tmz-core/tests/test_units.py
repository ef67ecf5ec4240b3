from tmz.core.units import human_size


def test_human_size_steps_by_1024():
    assert [human_size(n) for n in (0, 1023, 1024, 431_704, 5 * 1024**2, 3 * 1024**3, 2048 * 1024**3)] == [
        "0 B", "1023 B", "1.0 KB", "421.6 KB", "5.0 MB", "3.0 GB", "2048.0 GB"
    ]  # fmt: skip
