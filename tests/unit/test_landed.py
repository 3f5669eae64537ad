"""``checks.landed``: which archives an installer that exited 0 did not install."""

from __future__ import annotations

from pathlib import Path

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
