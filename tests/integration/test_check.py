"""Dependency completeness: the warning after install, --require-complete, peep check, --fix."""

from __future__ import annotations

import pytest
from support.builders import installed, make_wheel

from peep_setuptools.hashes import hash_file

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def deps(index, tmp_path_factory):
    root = tmp_path_factory.mktemp("f7check")
    files = {
        "app": make_wheel(
            root,
            "f7c-app",
            "1.0",
            requires_dist=[
                "f7c-lib>=1.0",
                'f7c-never; python_version < "3"',
                'f7c-extra; extra == "more"',
            ],
        ),
        "lib-1.0": make_wheel(root, "f7c-lib", "1.0"),
        "lib-1.1": make_wheel(root, "f7c-lib", "1.1"),
        "lib-2.0a1": make_wheel(root, "f7c-lib", "2.0a1"),
        "extra": make_wheel(root, "f7c-extra", "1.0"),
    }
    for path in files.values():
        index.add_file(path.name.split("-")[0].replace("_", "-"), path)
    return {k: hash_file(str(p))["sha256"] for k, p in files.items()}


def test_install_warns_after_installing_and_check_fails(peep, venv, write, deps, index):
    reqs = write("reqs.txt", f"f7c-app==1.0 {deps['app'].pip_option()}\n")
    done = peep("install", "-r", reqs, "--python", str(venv), "-i", index.index_url, check=0)
    out = done.stdout + done.stderr
    assert f"f7c-app==1.0 requires f7c-lib>=1.0, which is not in {reqs}" in out
    assert "f7c-never" not in out and "f7c-extra" not in out
    assert installed(venv)["f7c-app"] == "1.0"
    done = peep("check", "-r", reqs, "-i", index.index_url, check=1)
    assert "f7c-lib>=1.0" in done.stdout + done.stderr


def test_require_complete_stops_before_installing(peep, venv, write, deps, index):
    reqs = write("reqs.txt", f"f7c-app[more]==1.0 {deps['app'].pip_option()}\n")
    args = ("install", "-r", reqs, "--python", str(venv), "-i", index.index_url)
    done = peep(*args, "--require-complete", check=1)
    assert "f7c-extra" in done.stdout and "f7c-lib>=1.0" in done.stdout
    assert "--require-complete" in done.stderr
    assert "f7c-app" not in installed(venv)


def test_pinned_outside_the_specifier_is_reported(peep, write, deps, index):
    reqs = write(
        "reqs.txt",
        f"f7c-app==1.0 {deps['app'].pip_option()}\nf7c-lib==0.5 {deps['lib-1.0'].pip_option()}\n",
    )
    # lib==0.5 does not exist: check fails on the lookup, naming it
    done = peep("check", "-r", reqs, "-i", index.index_url, check=1)
    assert "f7c-lib==0.5" in done.stdout + done.stderr


def test_check_fix_appends_the_newest_fitting_version_with_its_hashes(peep, write, deps, index):
    reqs = write("reqs.txt", f"# mine\nf7c-app==1.0 {deps['app'].pip_option()}\n")
    done = peep("check", "-r", reqs, "-i", index.index_url, "--fix", check=0)
    out = done.stdout + done.stderr
    assert "trust on first use" in out and "+f7c-lib==1.1" in out
    with open(reqs, encoding="utf-8") as f:
        text = f.read()
    assert text == (
        f"# mine\nf7c-app==1.0 {deps['app'].pip_option()}\n"
        f"f7c-lib==1.1 {deps['lib-1.1'].pip_option()}\n"
    )
    peep("check", "-r", reqs, "-i", index.index_url, check=0)
