"""The target probe runs nothing installed in the target: a planted .pth cannot run or lie."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from support.builders import make_venv, site_packages

from peep_setuptools import probing
from peep_setuptools.errors import TargetError
from peep_setuptools.target import probe

PY39 = "/root/.pyenv/versions/3.9.18/bin/python"
PYTHONS = [
    pytest.param(sys.executable, id="this"),
    pytest.param(
        PY39, id="3.9", marks=pytest.mark.skipif(not os.path.exists(PY39), reason="no 3.9")
    ),
]


def _plant(venv: Path, tmp_path: Path) -> Path:
    """A .pth whose import line writes a telltale and puts a fake alpha 1.0 on sys.path."""
    fake = tmp_path / "fake"
    (fake / "alpha-1.0.dist-info").mkdir(parents=True)
    (fake / "alpha-1.0.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: alpha\nVersion: 1.0\n"
    )
    telltale = tmp_path / "pth-telltale"
    (site_packages(venv) / "evil.pth").write_text(
        f"import sys; open({str(telltale)!r}, 'w').write('ran'); sys.path.append({str(fake)!r})\n"
    )
    return telltale


@pytest.mark.parametrize("python", PYTHONS)
def test_probe_runs_no_pth_and_reads_the_venvs_site_packages(tmp_path, python):
    venv = make_venv(tmp_path / "venv", python=python)
    telltale = _plant(venv, tmp_path)
    (site_packages(venv) / "real-2.0.dist-info").mkdir()
    (site_packages(venv) / "real-2.0.dist-info" / "METADATA").write_text(
        "Name: real\nVersion: 2.0\n"
    )
    target = probe(str(venv))
    assert not telltale.exists()
    assert dict(target.installed) == {"real": "2.0"}
    assert target.marker_env["python_version"] == ".".join(
        target.marker_env["python_full_version"].split(".")[:2]
    )
    assert target.tags[0].interpreter.startswith("cp3")
    assert not target.has_pip


@pytest.mark.slow
@pytest.mark.parametrize("python", PYTHONS)
def test_a_planted_pth_neither_runs_in_the_probe_nor_fools_install(
    peep, write, packages, index, tmp_path, python
):
    # Our pip needs 3.10+: a 3.9 target installs with its own.
    venv = make_venv(tmp_path / "venv", python=python, with_pip=python == PY39)
    telltale = _plant(venv, tmp_path)
    reqs = write("reqs.txt", f"{packages.peep('alpha-1.0')}\nalpha==1.0\n")
    done = peep.install(reqs, "-i", index.index_url, "--dry-run", python=venv, check=0)
    assert not telltale.exists(), done.stdout + done.stderr
    assert "alpha" in done.stdout and "already installed" not in done.stdout + done.stderr
    # For real: alpha is installed, not skipped as the fake one. (pip itself then runs the
    # target interpreter, site and .pth files included, to install into it.)
    done = peep.install(reqs, "-i", index.index_url, python=venv, check=0)
    assert (site_packages(venv) / "alpha-1.0.dist-info" / "RECORD").exists(), (
        done.stdout + done.stderr
    )


@pytest.mark.parametrize("python", PYTHONS)
def test_probe_names_what_pip_takes_for_installed(tmp_path, python, monkeypatch):
    # pip knows a distribution by its folder's name ("foobar-1.0.dist-info" whose METADATA
    # says foo: uv installs such a wheel) and finds them in the folders .pth files and
    # PYTHONPATH add: reinstalling one, it removes it. Read, never run.
    venv = make_venv(tmp_path / "venv", python=python)
    site, root = site_packages(venv), venv.parent.parent
    (site / "foobar-1.0.dist-info").mkdir()
    (site / "foobar-1.0.dist-info" / "METADATA").write_text("Name: foo\nVersion: 1.0\n")
    (root / "src" / "proj" / "proj.egg-info").mkdir(parents=True)
    (site / "easy-install.pth").write_text(
        f"# a comment\n{root / 'src' / 'proj'}\n./Egged-2.0.egg\n"
    )
    telltale = _plant(venv, tmp_path)
    (tmp_path / "pp" / "Py_Path-3.0.dist-info").mkdir(parents=True)
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "pp"))
    target = probe(str(venv))
    assert not telltale.exists()
    assert dict(target.installed) == {"foo": "1.0"}
    assert target.pip_names == {"foobar", "proj", "egged", "py-path"}
    # the words of the lines that import: what a starting Python imports
    assert {"sys", "open", "write", "append"} <= target.startup_modules


def test_a_pth_naming_its_own_site_folder_is_read_once(tmp_path):
    # Read again for each time it was named, it named itself again: the probe read it until
    # its 120 s timeout, and the run failed ("cannot run the target interpreter").
    venv = make_venv(tmp_path / "venv")
    site = site_packages(venv)
    (site / "self.pth").write_text(f"{site}\n")
    (site / "alpha-1.0.dist-info").mkdir()
    (site / "alpha-1.0.dist-info" / "METADATA").write_text("Name: alpha\nVersion: 1.0\n")
    assert probe(str(venv)).pip_names == {"alpha"}


def test_a_target_that_does_not_answer_is_named_without_the_probe_script(tmp_path, monkeypatch):
    # TimeoutExpired's text is the whole command: the probe's script, 200 lines of it.
    monkeypatch.setattr(probing, "TIMEOUT", 0.5)
    python = tmp_path / "python"
    python.write_text("#!/bin/sh\nexec sleep 30\n")
    python.chmod(0o755)
    with pytest.raises(TargetError) as raised:
        probe(str(python))
    assert str(raised.value) == f"cannot run the target interpreter {python}: no answer in 0.5 s"
