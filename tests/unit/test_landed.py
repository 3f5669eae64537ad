"""``checks.landed``: which archives an installer that exited 0 did not install."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from peep_setuptools.checks.landed import not_installed
from peep_setuptools.target import Target


def _target(*folders: Path) -> Target:
    paths = tuple(zip(("purelib", "platlib"), map(str, folders)))
    return Target("python", {}, (), {}, False, install_paths=(*paths, ("scripts", "/nowhere")))


def test_it_finds_each_by_its_dist_info_folder_as_installers_spell_it(tmp_path):
    pure, plat = tmp_path / "pure", tmp_path / "plat"
    for folder, entry in ((pure, "Foo_Bar-1.0"), (plat, "baz-2.0.0"), (pure, "odd-1.x")):
        (folder / f"{entry}.dist-info").mkdir(parents=True)
    (pure / "qux-1.0.egg-info").mkdir()  # not what a wheel installs
    given = [
        ("foo-bar", "1.0.0"),
        ("foo.bar", None),
        ("baz", "2"),
        ("odd", "1.x"),
        ("baz", "3.0"),
        ("qux", "1.0"),
        ("absent", None),
    ]
    assert not_installed(_target(pure, plat), given) == ["baz==3.0", "qux==1.0", "absent"]


def test_with_no_known_site_folder_it_reports_nothing(tmp_path):
    assert not_installed(_target(), [("alpha", "1.0")]) == []
    assert not_installed(_target(tmp_path / "gone"), [("alpha", "1.0")]) == ["alpha==1.0"]


def test_a_dist_info_left_as_it_was_before_the_installer_does_not_count(tmp_path):
    """A planted or stale folder the installer (a dry run) kept is not an install of ours."""
    import shutil

    from peep_setuptools.checks.landed import stamps

    for entry in ("alpha-1.0", "beta-2.0", "gamma-1.0"):
        (tmp_path / f"{entry}.dist-info").mkdir()
    target = _target(tmp_path)
    before = stamps(target, ["Alpha", "beta"])
    assert sorted(os.path.basename(p) for p in before) == [
        "alpha-1.0.dist-info",
        "beta-2.0.dist-info",
    ]
    (tmp_path / "new").mkdir()  # replaced, as an installer does (made first: another inode)
    shutil.rmtree(tmp_path / "beta-2.0.dist-info")
    (tmp_path / "new").rename(tmp_path / "beta-2.0.dist-info")
    given = [("alpha", "1.0"), ("beta", "2.0"), ("gamma", "1.0")]
    assert not_installed(target, given, before) == ["alpha==1.0"]
    assert not_installed(target, given) == []  # (without what was there before)


@pytest.mark.parametrize(
    ("folder", "name", "version"),
    [
        ("Foo.Bar-1.0+local.1", "foo_bar", "1.0+local.1"),  # a local version, any name spelling
        ("foo-1.0.post0", "FOO", "1.0-0"),  # the same version, spelled otherwise
        ("foo-1.0.0", "foo", "v1"),
        ("foo_bar_baz-2!1.0", "foo-bar.baz", "2!1.0.0"),
    ],
)
def test_the_installers_spelling_of_a_name_or_version_is_no_failure(
    tmp_path, folder, name, version
):
    (tmp_path / f"{folder}.dist-info").mkdir()
    assert not_installed(_target(tmp_path), [(name, version)]) == []


def test_a_dist_info_whose_record_the_installer_wrote_again_counts(tmp_path):
    """An installer that kept the folder but wrote its RECORD (in place) installed it."""
    import time

    from peep_setuptools.checks.landed import stamps

    (tmp_path / "alpha-1.0.dist-info").mkdir()
    record = tmp_path / "alpha-1.0.dist-info" / "RECORD"
    record.write_text("alpha.py,,\n")
    target = _target(tmp_path)
    before = stamps(target, ["alpha"])
    assert not_installed(target, [("alpha", "1.0")], before) == ["alpha==1.0"]
    time.sleep(0.05)  # past the file system clock's tick
    with record.open("r+") as stream:
        stream.write("alpha.py,,\n")  # the same bytes, written again
    assert not_installed(target, [("alpha", "1.0")], before) == []
