"""peep verify and install --verify-installed: installed files against the verified wheel."""

from __future__ import annotations

import subprocess

import pytest
from support.builders import installed, make_wheel

from peep_setuptools.hashes import hash_file

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheels(index, tmp_path_factory):
    root = tmp_path_factory.mktemp("f7verify")
    files = {
        "one": make_wheel(root, "f7v-one", "1.0"),
        "one-2": make_wheel(root, "f7v-one", "2.0"),
        "two": make_wheel(root, "f7v-two", "1.0"),
    }
    for path in files.values():
        index.add_file(path.name.split("-")[0].replace("_", "-"), path)
    return {k: hash_file(str(p))["sha256"] for k, p in files.items()}


def _site(venv):
    out = subprocess.run(
        [str(venv), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    )
    from pathlib import Path

    return Path(out.stdout.strip())


def test_clean_then_tampered_environment(peep, venv, write, wheels, index):
    reqs = write(
        "reqs.txt",
        f"f7v-one==1.0 {wheels['one'].pip_option()}\nf7v-two==1.0 {wheels['two'].pip_option()}\n",
    )
    peep("install", "-r", reqs, "--python", str(venv), "-i", index.index_url, check=0)
    verify = ("verify", "-r", reqs, "--python", str(venv), "-i", index.index_url)
    peep(*verify, check=0)

    site = _site(venv)
    (site / "f7v_one" / "__init__.py").write_text("EVIL = 1\n")
    (site / "f7v_one" / "extra.py").write_text("")
    (site / "f7v_two" / "__init__.py").unlink()
    done = peep(*verify, check=1)
    out = done.stdout + done.stderr
    assert "changed: f7v_one/__init__.py" in out
    assert "added:   f7v_one/extra.py" in out
    assert "missing: f7v_two/__init__.py" in out

    # --verify-installed repairs instead of skipping
    done = peep.install(reqs, venv, "-i", index.index_url, "--verify-installed", check=0)
    assert "reinstalling" in done.stdout + done.stderr
    assert "ORIGIN = 'wheel'" in (site / "f7v_one" / "__init__.py").read_text()
    assert (site / "f7v_two" / "__init__.py").exists()


def test_version_differs_and_not_installed(peep, venv, write, wheels, index):
    old = write("old.txt", f"f7v-one==1.0 {wheels['one'].pip_option()}\n")
    peep("install", "-r", old, "--python", str(venv), "-i", index.index_url, check=0)
    reqs = write(
        "reqs.txt",
        f"f7v-one==2.0 {wheels['one-2'].pip_option()}\nf7v-two==1.0 {wheels['two'].pip_option()}\n",
    )
    done = peep("verify", "-r", reqs, "--python", str(venv), "-i", index.index_url, check=1)
    out = done.stdout + done.stderr
    assert "f7v-one==2.0" in out and "version 1.0 is installed" in out
    assert "f7v-two==1.0" in out and "not installed" in out
    assert installed(venv)["f7v-one"] == "1.0"
