"""pip_env: pip reads no file, and the options it parses are those its files gave it.

Real pip parses both: once reading the files and variables itself, once given ``pip_env``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from peep_setuptools.index.pipconfig import pip_settings
from peep_setuptools.installing.sources import UV, child_env, pip_env

#: pip's options for ``pip COMMAND`` with no argument, as pip parses its configuration
_OPTIONS = (
    "import json, sys\n"
    "from pip._internal.commands import create_command\n"
    "options, _ = create_command(sys.argv[1]).parse_args([])\n"
    "print(json.dumps({k: repr(v) for k, v in sorted(vars(options).items())}))\n"
)
#: this interpreter's pip (the newest), and an older one where the machine has it
_PIPS = [sys.executable, "/root/.pyenv/versions/3.11.7/bin/python"]

_GLOBAL = (
    "[global]\ntimeout = 1\nretries = 9\nno-cache-dir = false\nprogress-bar = on\n"
    "[install]\nextra-index-url = https://a.example/\n    https://b.example/\n"
    "progress-bar = off\nno-compile = yes\n"
    "[wheel]\nno-build-isolation = no\n"
)
_USER = (
    "[global]\ndefault_timeout = 2\nretries =\ntrusted-host = h1\n    h2\n"
    "target = /elsewhere\nuser = yes\n"
    "[install]\nno-warn-script-location = yes\nCOMPILE = no\nprefix = /elsewhere\n"
    "[wheel]\nprefer-binary = true\n"
)


def _files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, user: str = _USER) -> None:
    for name in [n for n in os.environ if n.startswith("PIP_")]:
        monkeypatch.delenv(name)
    for folder, text in (("xdg", _GLOBAL), ("home/.config", user)):
        (tmp_path / folder / "pip").mkdir(parents=True)
        (tmp_path / folder / "pip" / "pip.conf").write_text(text)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_DIRS", str(tmp_path / "xdg"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "home" / ".config"))
    monkeypatch.setenv("PYTHONHASHSEED", "0")  # sets in the options print in one order


def _parsed(
    python: str, command: str, env: dict[str, str], cwd: Path | None = None
) -> dict[str, str]:
    return _printed([python, "-c", _OPTIONS, command], env, cwd)


def _printed(argv: list[str], env: dict[str, str], cwd: Path | None) -> dict[str, str]:
    """The JSON object the script ``argv`` runs prints."""
    import json

    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, check=True)
    return dict(json.loads(done.stdout))


def _prefix(python: str) -> str:
    code = "import sys; print(sys.prefix)"
    return subprocess.run([python, "-c", code], capture_output=True, text=True).stdout.strip()


@pytest.mark.parametrize("python", _PIPS)
@pytest.mark.parametrize("command", ["install", "wheel"])
def test_pip_parses_what_its_files_and_variables_gave_it(tmp_path, monkeypatch, python, command):
    if not os.path.exists(python):
        pytest.skip(f"no {python} here")
    _files(tmp_path, monkeypatch)
    monkeypatch.setenv("PIP_DEFAULT_TIMEOUT", "5")  # the environment beats both files
    monkeypatch.setenv("PIP_TRUSTED_HOST", "")  # empty: pip ignores it, the file's stays
    monkeypatch.setenv("PIP_no_cache_dir", "true")  # any spelling pip reads
    prefix = _prefix(python)
    assert not os.path.exists(os.path.join(prefix, "pip.conf"))
    theirs = _parsed(python, command, dict(os.environ))
    ours_env = pip_env(command, prefix, {})
    assert ours_env["PIP_CONFIG_FILE"] == os.devnull
    ours = _parsed(python, command, ours_env)
    # pip's own reading of its files would install elsewhere: those are not passed on
    for dest in ("target_dir", "use_user_site", "prefix_path"):
        if dest in theirs:
            assert theirs[dest] != "None", dest
            assert ours[dest] == "None", dest
            del theirs[dest], ours[dest]
    assert ours == theirs
    assert theirs["timeout"] == "5.0"
    if command == "install":
        # [install] no-warn-script-location = yes: pip sets the store_false option to it
        assert theirs["warn_script_location"] == "1"
        assert theirs["progress_bar"] == "'off'"  # [install] beats [global]
    else:
        assert theirs["prefer_binary"] == "1"  # [wheel], not [install]
        assert theirs["progress_bar"] == "'on'"


def test_a_value_pip_refuses_is_still_refused_by_pip(tmp_path, monkeypatch):
    _files(tmp_path, monkeypatch, user="[install]\nno-warn-script-location = maybe\n")
    env = pip_env("install", sys.prefix, {})
    assert env["PIP_NO_WARN_SCRIPT_LOCATION"] == "maybe"
    done = subprocess.run(
        [sys.executable, "-c", _OPTIONS, "install"], env=env, capture_output=True, text=True
    )
    assert done.returncode == 2
    assert "maybe is not a valid value for no-warn-script-location" in done.stderr


def test_settings_order_and_precedence(tmp_path):
    first = tmp_path / "a.conf"
    first.write_text("[install]\nreport = B\n[global]\nreport = A0\nlog = L\n")
    second = tmp_path / "b.conf"
    second.write_text("[global]\nreport = A\nlog =\n[wheel]\nreport = W\n")
    files = [str(first), str(second)]
    # [install] beats [global] whatever the files' order; an empty value in a later file
    # empties the key (pip then ignores it)
    got = pip_settings({}, "install", config_files=files)
    assert [(s.key, s.value, s.variable) for s in got] == [("report", "B", None)]
    assert got[0].where == f"{first} [install] report"
    assert pip_settings({}, "wheel", config_files=files)[0].value == "W"
    got = pip_settings({"PIP_Report": "C"}, "install", config_files=files)
    assert [(s.key, s.value, s.variable) for s in got] == [("report", "C", "PIP_Report")]
    # two variables pip reads as one key: the later one in the environment
    environ = {"PIP_REPORT": "D", "PIP_report": "", "PIP_TIMEOUT": "1"}
    got = pip_settings(environ, "install", config_files=files)
    assert [(s.key, s.value) for s in got] == [("report", "B"), ("timeout", "1")]


@pytest.mark.parametrize(
    "name",
    [
        *("PIP_TARGET", "PIP_target", "PIP_USER", "PIP_NO_USER", "PIP_PREFIX", "PIP_ROOT"),
        *("PIP_PYTHON", "PIP_REQUIREMENT", "PIP_requirement", "PIP_EDITABLE", "PIP_DRY_RUN"),
        *("PIP_REQUIREMENTS_FROM_SCRIPT", "PIP_GROUP"),
    ],
)
def test_variables_that_install_elsewhere_or_more_are_dropped(monkeypatch, name):
    monkeypatch.setenv(name, "1")
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    assert name not in pip_env("install", sys.prefix, {})


@pytest.mark.parametrize("name", ["PIP_REQUIRE_HASHES", "PIP_CONSTRAINT", "PIP_NO_DEPENDENCIES"])
def test_bootstrap_variables_are_dropped_and_the_files_value_kept(tmp_path, monkeypatch, name):
    conf = tmp_path / "pip.conf"
    conf.write_text("[global]\nrequire-hashes = no\nconstraint = c.txt\nno-dependencies = no\n")
    monkeypatch.setenv("PIP_CONFIG_FILE", str(conf))
    monkeypatch.setenv(name, "1")
    env = pip_env("install", sys.prefix, {})
    if name == "PIP_CONSTRAINT":  # a constraints file's -r lines are requirements to pip
        assert name not in env
    else:
        assert env[name] != "1"  # the file's, which is the user's standing choice


def test_a_files_requirement_or_editable_is_dropped(tmp_path, monkeypatch):
    # pip adds them to the command line's requirements: more than peep verified
    for name in [n for n in os.environ if n.startswith("PIP_")]:
        monkeypatch.delenv(name)
    conf = tmp_path / "pip.conf"
    conf.write_text("[global]\nrequirement = r.txt\n[install]\neditable = ./e\nno-compile = yes\n")
    monkeypatch.setenv("PIP_CONFIG_FILE", str(conf))
    env = pip_env("install", sys.prefix, {})
    assert env["PIP_NO_COMPILE"] == "yes"
    assert "PIP_REQUIREMENT" not in env
    assert "PIP_EDITABLE" not in env


#: each of pip's options that names a file or folder, relative, under ``~``, absolute
_RELATIVE = (
    "[global]\nlog = logs/pip.log\ncert = ~/ca.pem\nclient-cert = link/../client.pem\n"
    "cache-dir = cache\nsrc = ../src\nbuild-constraint = bc.txt https://c.example/bc.txt\n"
    "    ~/bc.txt /abs/bc.txt\n"
    "[install]\nreport = report.json\n[wheel]\nwheel-dir = ~/wheels\n"
)


@pytest.mark.parametrize("command", ["install", "wheel"])
@pytest.mark.parametrize("where", ["file", "variables"])
def test_relative_paths_mean_the_same_to_a_pip_started_elsewhere(
    tmp_path, monkeypatch, command, where
):
    """pip reads its path options from its current folder (``~`` expanded where pip expands
    it): ours starts in an empty folder of the run, and reads the same paths."""
    _files(tmp_path, monkeypatch, user=_RELATIVE)
    if where == "variables":  # the same settings as PIP_* (any spelling), the file empty
        (tmp_path / "home/.config/pip/pip.conf").write_text("")
        monkeypatch.setenv("PIP_LOG_FILE", "logs/pip.log")
        monkeypatch.setenv("PIP_cert", "~/ca.pem")
        monkeypatch.setenv("PIP_CACHE_DIR", "cache")
        monkeypatch.setenv("PIP_SOURCE_DIR", "../src")
        monkeypatch.setenv("PIP_BUILD_CONSTRAINT", "bc.txt https://c.example/bc.txt ~/bc.txt")
        monkeypatch.setenv("PIP_REPORT", "-")  # pip's stdout
        monkeypatch.setenv("PIP_WHEEL_DIR", "wheels")  # (its default: pip's current folder)
    here, elsewhere = tmp_path / "here", tmp_path / "empty"
    here.mkdir()
    elsewhere.mkdir()
    theirs = _places(command, dict(os.environ), here)
    monkeypatch.chdir(here)
    ours = _places(command, pip_env(command, sys.prefix, {}), elsewhere)
    assert ours == theirs
    assert theirs["log"] == repr(str(here / "logs" / "pip.log"))
    assert theirs["cert"] == repr(str(tmp_path / "home" / "ca.pem"))
    if where == "file":
        assert theirs["client_cert"] == repr(str(here / "link" / ".." / "client.pem"))


#: pip's options for ``pip COMMAND``; those that name a file or folder as the pip started
#: in the current folder opens it (a URL and ``-``, pip's stdout, as they are)
_PLACES = (
    "import json, os, sys\n"
    "from pip._internal.commands import create_command\n"
    "options, _ = create_command(sys.argv[1]).parse_args([])\n"
    "def place(v):\n"
    "    if not isinstance(v, str) or v == '-' or '://' in v:\n"
    "        return v\n"
    "    return os.path.join(os.getcwd(), v)\n"
    "found = {}\n"
    "for k, v in sorted(vars(options).items()):\n"
    "    if k in sys.argv[2:]:\n"
    "        v = [place(w) for w in v] if isinstance(v, list) else place(v)\n"
    "    found[k] = repr(v)\n"
    "print(json.dumps(found))\n"
)
#: pip's options (install, wheel) that name files or folders
_NAMED = ("log", "cert", "client_cert", "cache_dir", "src_dir", "build_constraints")
_NAMED += ("json_report_file", "wheel_dir")


def _places(command: str, env: dict[str, str], cwd: Path) -> dict[str, str]:
    return _printed([sys.executable, "-c", _PLACES, command, *_NAMED], env, cwd)


def test_the_installers_path_variables_are_made_absolute_from_here(tmp_path, monkeypatch):
    """An installer starts in an empty folder of the run, not where these were meant."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", "ca.pem")
    monkeypatch.setenv("SSL_CERT_DIR", f"certs{os.pathsep}/etc/ssl/certs")
    monkeypatch.setenv("NETRC", "~/.netrc")  # as it is: the installer expands it or not
    monkeypatch.setenv("UV_CACHE_DIR", "uv-cache")
    monkeypatch.setenv("UV_BUILD_CONSTRAINT", "c.txt https://c.example/c.txt /abs/c.txt")
    env = child_env()
    assert env["SSL_CERT_FILE"] == str(tmp_path / "ca.pem")
    assert env["SSL_CERT_DIR"] == f"{tmp_path / 'certs'}{os.pathsep}/etc/ssl/certs"
    assert env["NETRC"] == "~/.netrc"
    assert env["UV_CACHE_DIR"] == str(tmp_path / "uv-cache")
    assert env["UV_BUILD_CONSTRAINT"] == f"{tmp_path / 'c.txt'} https://c.example/c.txt /abs/c.txt"


@pytest.mark.parametrize(
    ("mode", "kept"), [("symlink", False), (" Symlink ", False), ("copy", True)]
)
def test_uv_installs_no_links_into_its_cache(tmp_path, monkeypatch, mode, kept):
    """Symlinked, installed files would be bytes in uv's cache, changeable after the check."""
    monkeypatch.setenv("UV_LINK_MODE", mode)
    _, env, _ = UV.pinned(str(tmp_path), (), "")
    assert ("UV_LINK_MODE" in env) is kept
