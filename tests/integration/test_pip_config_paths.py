"""A relative path in pip's configuration means what it means to pip run where peep is run.

peep's pip starts in an empty folder of the run (``children.empty_dir``): a relative
``log`` or ``report`` handed over as it is would be written there (and removed with the run),
a relative ``cert`` or ``client-cert`` looked for there. So would a relative path in a
variable the installer reads (``UV_CACHE_DIR``, ``SSL_CERT_FILE``...).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from support.builders import installed
from support.uvwrap import needs_uv


def _report(path: Path) -> list[str]:
    return [item["metadata"]["name"] for item in json.loads(path.read_text())["install"]]


@pytest.mark.parametrize("where", ["PIP_LOG", "file"])
def test_a_relative_log_is_written_where_pip_would_write_it(
    peep, venv, write, packages, tmp_path, where
):
    (tmp_path / "logs").mkdir()
    if where == "file":
        conf = tmp_path / "pip.conf"
        conf.write_text("[install]\nlog = logs/pip.log\n")
        peep.env["PIP_CONFIG_FILE"] = str(conf)
    else:
        peep.env["PIP_LOG"] = "logs/pip.log"
    reqs = write("reqs.txt", f"{packages['alpha-1.0']} {packages.pip('alpha-1.0')}\n")
    peep.install(reqs, "--no-index", check=0)
    assert peep.cwd == tmp_path
    assert "alpha" in (tmp_path / "logs" / "pip.log").read_text()


def test_a_log_under_home_is_written_where_pip_would_write_it(
    peep, venv, write, packages, tmp_path
):
    """pip expands ``~`` in its path options (``log``, ``cert``, ``cache-dir``...)."""
    home = tmp_path / "home"
    home.mkdir()
    peep.env["HOME"] = str(home)
    peep.env["PIP_LOG"] = "~/pip.log"
    reqs = write("reqs.txt", f"{packages['alpha-1.0']} {packages.pip('alpha-1.0')}\n")
    peep.install(reqs, "--no-index", check=0)
    assert "alpha" in (home / "pip.log").read_text()


def test_a_relative_report_is_written_where_pip_would_write_it(
    peep, venv, write, packages, tmp_path
):
    peep.env["PIP_REPORT"] = "report.json"
    reqs = write("reqs.txt", f"{packages['alpha-1.0']} {packages.pip('alpha-1.0')}\n")
    peep.install(reqs, "--no-index", check=0)
    assert _report(tmp_path / "report.json") == ["alpha"]


@needs_uv
def test_uvs_relative_cache_folder_is_where_uv_would_make_it(
    peep, venv, write, packages, srv, tmp_path
):
    """Not in the run's folder, made afresh by every run and removed with it."""
    peep.env["UV_CACHE_DIR"] = "uv-cache"
    reqs = write("reqs.txt", f"alpha==1.0 {packages.pip('alpha-1.0')}\n")
    peep.install(reqs, "-i", srv.index_url, "--installer", "uv", check=0)
    assert installed(venv)["alpha"] == "1.0"
    assert list((tmp_path / "uv-cache").iterdir())


@pytest.mark.parametrize("where", ["PIP_FIND_LINKS", "file", "command line"])
def test_find_links_under_home_are_read_where_pip_reads_them(
    peep, venv, write, packages, tmp_path, where
):
    """pip expands ``~`` in find-links where the folder it then names exists."""
    home = tmp_path / "home"
    (home / "wheels").mkdir(parents=True)
    shutil.copy(packages["alpha-1.0"], home / "wheels")
    peep.env["HOME"] = str(home)
    args = ["--no-index"]
    if where == "file":
        conf = tmp_path / "pip.conf"
        conf.write_text("[global]\nfind-links = ~/wheels\n")
        peep.env["PIP_CONFIG_FILE"] = str(conf)
    elif where == "PIP_FIND_LINKS":
        peep.env["PIP_FIND_LINKS"] = "~/wheels"
    else:
        args += ["--find-links", "~/wheels"]
    reqs = write("reqs.txt", f"alpha==1.0 {packages.pip('alpha-1.0')}\n")
    peep.install(reqs, *args, check=0)
    assert installed(venv)["alpha"] == "1.0"
