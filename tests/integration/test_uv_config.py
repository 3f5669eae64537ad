"""uv's own configuration files never change what a run installs or how it builds an sdist.

uv looks for ``uv.toml`` (and ``pyproject.toml``'s ``[tool.uv]``) in its current folder and
every folder above it: it starts in the run's folder in TMPDIR, whose parent (``/tmp``)
anyone may write to. Its user file and ``UV_CONFIG_FILE`` are the user's, but they add
build dependencies never pinned, install elsewhere or leave pins out all the same: every uv
peep starts runs with ``--no-config`` and without ``UV_CONFIG_FILE``; its index settings
come from pip's configuration and the files, as pip's do.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from support.builders import installed, make_sdist, origin, write_wheel
from support.uvwrap import needs_uv

pytestmark = [
    pytest.mark.slow,
    needs_uv,
]

UV = ("--installer", "uv")
#: gamma's sdist runs its setup.py (the telltale) if uv ever builds it as a build dependency
EXTRA = 'extra-build-dependencies = { beta = ["gamma"] }\n'


def _place(peep, tmp_path: Path, where: str, text: str) -> None:
    """Put a uv configuration file where uv would find it, uv's own switch-off undone."""
    peep.env.pop("UV_NO_CONFIG", None)
    if where == "TMPDIR":  # a folder above the run's (as /tmp is): anyone may write there
        (peep.tmpdir / "uv.toml").write_text(text)
    elif where == "TMPDIR-pyproject":
        (peep.tmpdir / "pyproject.toml").write_text(
            "[project]\nname = 'planted'\nversion = '1'\n[tool.uv]\n" + text
        )
    elif where == "user":
        home = tmp_path / "xdg-config"
        (home / "uv").mkdir(parents=True)
        (home / "uv" / "uv.toml").write_text(text)
        peep.env["XDG_CONFIG_HOME"] = str(home)
    else:
        (tmp_path / "uv-config.toml").write_text(text)
        peep.env["UV_CONFIG_FILE"] = str(tmp_path / "uv-config.toml")


@pytest.mark.parametrize("where", ["TMPDIR", "TMPDIR-pyproject", "user", "UV_CONFIG_FILE"])
def test_uvs_configuration_names_no_index_for_build_dependencies(
    peep, venv, write, packages, index, server, telltale, tmp_path, where
):
    """An index of uv's configuration is searched before ours: its setuptools (here an sdist
    whose build writes the telltale) would run to build gamma, a verified sdist."""
    planted = make_sdist(tmp_path / "planted", "setuptools", "99.0", telltale=telltale)
    server.add_file("setuptools", planted)
    _place(peep, tmp_path, where, f'[[index]]\nurl = "{server.index_url}"\n')
    reqs = write("reqs.txt", f"gamma==1.0 {packages.pip('gamma-1.0')}\n")
    peep.install(reqs, "-i", index.index_url, *UV, check=0)
    assert installed(venv)["gamma"] == "1.0"
    assert "setuptools ran" not in telltale.read_text()
    assert server.requests_to("/simple/setuptools/") == []


@pytest.mark.parametrize("where", ["TMPDIR", "user"])
def test_uvs_configuration_adds_no_build_dependency_to_a_build(
    peep, venv, write, packages, index, telltale, tmp_path, where
):
    """uv's ``extra-build-dependencies`` would fetch gamma, never pinned, and run its build
    (the telltale) to build beta, a verified sdist."""
    _place(peep, tmp_path, where, EXTRA)
    reqs = write("reqs.txt", f"beta==1.0 {packages.pip('beta-1.0')}\n")
    peep.install(reqs, "-i", index.index_url, *UV, check=0)
    assert installed(venv)["beta"] == "1.0"
    ran = telltale.read_text().splitlines()
    assert "beta ran" in ran
    assert "gamma ran" not in ran


@pytest.mark.parametrize(
    "setting",
    [
        'config-settings = { "--build-option" = "--unknown-option-fails-the-build" }\n',
        'build-constraint-dependencies = ["setuptools<1"]\n',
        "no-build-isolation = true\n",
    ],
)
def test_uvs_configuration_does_not_change_how_an_sdist_is_built(
    peep, venv, write, packages, index, telltale, tmp_path, setting
):
    """gamma's setuptools build: without its isolated environment (here none has setuptools)
    or with a setuptools that cannot be found, it fails; with other options, it changes."""
    _place(peep, tmp_path, "TMPDIR", setting)
    reqs = write("reqs.txt", f"gamma==1.0 {packages.pip('gamma-1.0')}\n")
    peep.install(reqs, "-i", index.index_url, *UV, check=0)
    assert installed(venv)["gamma"] == "1.0"


def test_strict_builds_take_nothing_from_uvs_configuration(
    peep, venv, write, packages, index, telltale, tmp_path
):
    """--strict builds beta itself from verified build dependencies: uv only installs."""
    _place(peep, tmp_path, "user", EXTRA)
    reqs = write("reqs.txt", f"beta==1.0 {packages.pip('beta-1.0')}\n")
    peep.install(reqs, "-i", index.index_url, *UV, "--strict", check=0)
    assert installed(venv)["beta"] == "1.0"
    assert "gamma ran" not in telltale.read_text()


@pytest.mark.parametrize("variable", ["UV_INDEX", "UV_EXTRA_INDEX_URL", "UV_FIND_LINKS"])
def test_uvs_index_variables_name_no_place_for_build_dependencies(
    peep, venv, write, packages, index, server, telltale, tmp_path, variable
):
    """Ours replaces them only where it has a value: the places are pip's configuration's and
    the files', as for the archives peep fetches (here a planted setuptools, found first)."""
    planted = make_sdist(tmp_path / "planted", "setuptools", "99.0", telltale=telltale)
    server.add_file("setuptools", planted)
    peep.env[variable] = str(planted.parent) if variable == "UV_FIND_LINKS" else server.index_url
    peep.env["UV_INDEX_STRATEGY"] = "unsafe-best-match"  # the newest anywhere: 99.0
    reqs = write("reqs.txt", f"gamma==1.0 {packages.pip('gamma-1.0')}\n")
    peep.install(reqs, "-i", index.index_url, *UV, check=0)
    assert installed(venv)["gamma"] == "1.0"
    assert "setuptools ran" not in telltale.read_text()


def test_uvs_constraints_name_no_archive_to_install(peep, venv, write, packages, index, tmp_path):
    """A constraint with a URL and its own hash is no narrowing: uv would install alpha 1.0
    from it (here a wheel of the same name and version, never pinned) over the verified one."""
    other = write_wheel(
        tmp_path / "other", "alpha", "1.0", {"alpha/__init__.py": b"ORIGIN = 'never pinned'\n"}
    )
    digest = hashlib.sha256(other.read_bytes()).hexdigest()
    constraints = write("constraints.txt", f"alpha @ {other.as_uri()} --hash=sha256:{digest}\n")
    peep.env["UV_CONSTRAINT"] = str(constraints)
    reqs = write("reqs.txt", f"alpha==1.0 {packages.pip('alpha-1.0')}\n")
    peep.install(reqs, "-i", index.index_url, *UV, check=0)
    assert installed(venv)["alpha"] == "1.0"
    assert origin(venv, "alpha") == "wheel"


def test_uvs_build_constraints_name_no_place_for_build_dependencies(
    peep, venv, write, packages, index, telltale, tmp_path
):
    """A build constraint with a URL is no narrowing either: gamma's setuptools would come
    from it (here an sdist whose build writes the telltale), a place peep never fetches from."""
    planted = make_sdist(tmp_path / "planted", "setuptools", "99.0", telltale=telltale)
    constraints = write("build-constraints.txt", f"setuptools @ {planted.as_uri()}\n")
    peep.env["UV_BUILD_CONSTRAINT"] = str(constraints)
    reqs = write("reqs.txt", f"gamma==1.0 {packages.pip('gamma-1.0')}\n")
    peep.install(reqs, "-i", index.index_url, *UV, check=0)
    assert installed(venv)["gamma"] == "1.0"
    assert "setuptools ran" not in telltale.read_text()
