"""pip_defaults: pip's configuration files and PIP_* variables, read as pip reads them."""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys

import pytest
from packaging.version import Version

from peep_setuptools.errors import UsageError
from peep_setuptools.index.pipconfig import PipDefaults, pip_config_files, pip_defaults

PIP_VERSION = Version(importlib.metadata.version("pip"))


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return str(path)


def test_defaults_without_anything():
    assert pip_defaults({}, config_files=[]) == PipDefaults(
        index_url="https://pypi.org/simple/",
        extra_index_urls=(),
        find_links=(),
        no_index=False,
        cert=None,
        timeout=15.0,
        retries=5,
        trusted_hosts=(),
        files=(),
    )


def test_global_section(tmp_path):
    conf = write(
        tmp_path / "pip.conf",
        "[global]\n"
        "index-url = https://mirror.example/simple/\n"
        "extra-index-url =\n    https://a.example/simple/\n    https://b.example/simple/\n"
        "find-links = /wheels https://links.example/\n"
        "no-index = yes\n"
        "cert = /etc/ca.pem\n"
        "timeout = 30\n"
        "retries = 2\n"
        "trusted-host = a.example\n    b.example:8080\n",
    )
    assert pip_defaults({}, config_files=[conf]) == PipDefaults(
        index_url="https://mirror.example/simple/",
        extra_index_urls=("https://a.example/simple/", "https://b.example/simple/"),
        find_links=("/wheels", "https://links.example/"),
        no_index=True,
        cert="/etc/ca.pem",
        timeout=30.0,
        retries=2,
        trusted_hosts=("a.example", "b.example:8080"),
        files=(conf,),
    )


def test_underscores_and_case_in_keys(tmp_path):
    conf = write(tmp_path / "pip.conf", "[global]\nINDEX_URL = https://m.example/simple/\n")
    assert pip_defaults({}, config_files=[conf]).index_url == "https://m.example/simple/"


def test_pypi_url_is_pips_other_name_of_index_url(tmp_path):
    # pip's --pypi-url: [install] beats [global] across the two names, as in pip
    text = "[global]\nindex-url = https://a.example/\n[install]\npypi-url = https://b.example/\n"
    conf = write(tmp_path / "pip.conf", text)
    assert pip_defaults({}, config_files=[conf]).index_url == "https://b.example/"
    environ = {"PIP_INDEX_URL": "https://c.example/", "PIP_PYPI_URL": "https://d.example/"}
    assert pip_defaults(environ, config_files=[conf]).index_url == "https://d.example/"


def test_install_section_beats_global_in_any_file(tmp_path):
    first = write(tmp_path / "a.conf", "[install]\nindex-url = https://install.example/\n")
    second = write(tmp_path / "b.conf", "[global]\nindex-url = https://global.example/\n")
    assert pip_defaults({}, config_files=[first, second]).index_url == "https://install.example/"


def test_later_files_win(tmp_path):
    first = write(tmp_path / "a.conf", "[global]\ntimeout = 1\nretries = 9\n")
    second = write(tmp_path / "b.conf", "[global]\ntimeout = 2\n")
    result = pip_defaults({}, config_files=[first, second])
    assert (result.timeout, result.retries) == (2.0, 9)


def test_other_sections_are_ignored(tmp_path):
    conf = write(tmp_path / "pip.conf", "[download]\nindex-url = https://dl.example/\n")
    assert pip_defaults({}, config_files=[conf]).index_url == "https://pypi.org/simple/"


def test_missing_files_are_skipped(tmp_path):
    assert pip_defaults({}, config_files=[str(tmp_path / "absent.conf")]).files == ()


def test_environment_beats_files(tmp_path):
    conf = write(
        tmp_path / "pip.conf",
        "[install]\nindex-url = https://file.example/\nextra-index-url = https://x.example/\n",
    )
    environ = {
        "PIP_INDEX_URL": "https://env.example/simple/",
        "PIP_EXTRA_INDEX_URL": "https://e1.example/ https://e2.example/",
        "PIP_FIND_LINKS": "/a /b",
        "PIP_NO_INDEX": "off",
        "PIP_CERT": "~/ca.pem",
        "PIP_DEFAULT_TIMEOUT": "60",
        "PIP_RETRIES": "0",
        "PIP_TRUSTED_HOST": "h1 h2",
    }
    result = pip_defaults(environ, config_files=[conf])
    assert result == PipDefaults(
        index_url="https://env.example/simple/",
        extra_index_urls=("https://e1.example/", "https://e2.example/"),
        find_links=("/a", "/b"),
        no_index=False,
        cert=os.path.expanduser("~/ca.pem"),
        timeout=60.0,
        retries=0,
        trusted_hosts=("h1", "h2"),
        files=(conf,),
    )


def test_two_names_of_one_option_the_later_wins_as_in_pip():
    # pip applies the variables in the environment's order, both set the one option
    environ = {"PIP_TIMEOUT": "3", "PIP_DEFAULT_TIMEOUT": "4"}
    assert pip_defaults(environ, config_files=[]).timeout == 4.0
    environ = {"PIP_DEFAULT_TIMEOUT": "4", "PIP_TIMEOUT": "3"}
    assert pip_defaults(environ, config_files=[]).timeout == 3.0


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1", True),
        ("true", True),
        ("YES", True),
        ("on", True),
        ("0", False),
        ("no", False),
        ("False", False),
    ],
)
def test_no_index_values(value, expected):
    assert pip_defaults({"PIP_NO_INDEX": value}, config_files=[]).no_index is expected


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"PIP_NO_INDEX": "maybe"}, "PIP_NO_INDEX: 'maybe' is not a boolean; use true or false"),
        ({"PIP_TIMEOUT": "soon"}, "PIP_TIMEOUT: 'soon' is not a number of seconds"),
        (
            {"PIP_DEFAULT_TIMEOUT": "-1"},
            "PIP_DEFAULT_TIMEOUT: '-1' must be a finite number, zero or more",
        ),
        ({"PIP_TIMEOUT": "nan"}, "PIP_TIMEOUT: 'nan' must be a finite number, zero or more"),
        ({"PIP_RETRIES": "2.5"}, "PIP_RETRIES: '2.5' is not a whole number"),
    ],
)
def test_bad_environment_values(environ, message):
    with pytest.raises(UsageError) as info:
        pip_defaults(environ, config_files=[])
    assert str(info.value) == message


def test_bad_value_in_file_names_the_file(tmp_path):
    conf = write(tmp_path / "pip.conf", "[global]\nretries = many\n")
    with pytest.raises(UsageError) as info:
        pip_defaults({}, config_files=[conf])
    assert str(info.value) == f"{conf} [global] retries: 'many' is not a whole number"


@pytest.mark.parametrize(
    "text",
    [
        "index-url = https://x/\n",
        "[global\nindex-url = x\n",
        "[global]\n[global]\n",
        "[global]\nindex-url = x\nINDEX_URL = y\n",  # pip 26 refuses it too
    ],
    ids=["no-section", "bad-header", "duplicate", "two-spellings"],
)
def test_unparseable_file_names_the_file(tmp_path, text):
    conf = write(tmp_path / "pip.conf", text)
    with pytest.raises(UsageError) as info:
        pip_defaults({}, config_files=[conf])
    message = str(info.value)
    assert message.startswith(f"{conf}: cannot read pip configuration: ")
    assert "\n" not in message


@pytest.mark.parametrize("text", ["t0k3n-s3cret\n[global]\n", "[global]\nt0k3n-s3cret\n"])
def test_a_line_pip_cannot_parse_is_not_shown(tmp_path, text):
    # it may be a secret: the error names the file and the line's number only
    conf = write(tmp_path / "pip.conf", text)
    with pytest.raises(UsageError) as info:
        pip_defaults({}, config_files=[conf])
    line = 1 if text.startswith("t0k3n") else 2
    assert str(info.value) == (
        f"{conf}: cannot read pip configuration: line {line}: neither a [section] nor a key = value"
    )


@pytest.mark.skipif(not os.path.isfile("/proc/self/mem"), reason="Linux's /proc")
def test_a_file_that_cannot_be_read_is_skipped_as_pip_does(tmp_path):
    # (a file we may not open, as /etc/pip.conf with mode 0600, as root is read anyway)
    later = write(tmp_path / "b.conf", "[global]\nretries = 2\n")
    files = ["/proc/self/mem", later]  # a regular file whose read fails (EIO)
    assert pip_defaults({}, config_files=files).retries == 2


def test_binary_file_is_a_usage_error(tmp_path):
    conf = tmp_path / "pip.conf"
    conf.write_bytes(b"[global]\nindex-url = \xff\xfe\n")
    with pytest.raises(UsageError, match="cannot read pip configuration"):
        pip_defaults({}, config_files=[str(conf)])


def test_config_file_search(tmp_path):
    environ = {
        "HOME": str(tmp_path / "home"),
        "XDG_CONFIG_DIRS": f"{tmp_path}/xdg1{os.pathsep}{tmp_path}/xdg2",
        "XDG_CONFIG_HOME": str(tmp_path / "cfg"),
        "PIP_CONFIG_FILE": str(tmp_path / "env.conf"),
    }
    files = pip_config_files(environ, prefix=str(tmp_path / "venv"))
    assert files[:2] == [f"{tmp_path}/xdg1/pip/pip.conf", f"{tmp_path}/xdg2/pip/pip.conf"]
    assert "/etc/pip.conf" in files
    assert f"{tmp_path}/home/.pip/pip.conf" in files
    assert files[-3:] == [
        f"{tmp_path}/cfg/pip/pip.conf",
        f"{tmp_path}/venv/pip.conf",
        f"{tmp_path}/env.conf",
    ]


@pytest.mark.parametrize("dirs", ["", " ", "~/cfg", "a::b", "/x:", "rel", "/x:rel", " /x "])
@pytest.mark.parametrize("home", ["", " ", "~/ch", "relh", " /h "])
def test_config_file_search_as_pips(tmp_path, dirs, home):
    # pip's own search, in a child with these variables: relative XDG folders are not read
    # (pip 26.3's platformdirs; the pip 26.0 of Python 3.9 reads them)
    if Version("26.3") > PIP_VERSION:
        pytest.skip(f"pip {PIP_VERSION} searches otherwise than the pip 26.3 peep follows")
    environ = {**os.environ, "XDG_CONFIG_DIRS": dirs, "XDG_CONFIG_HOME": home, "HOME": "/u"}
    environ.pop("PIP_CONFIG_FILE", None)
    code = (
        "import json, sys\n"
        "from pip._internal.configuration import get_configuration_files as f\n"
        "d = f(); print(json.dumps([*d['global'], *d['user'], *d['site']]))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], env=environ, capture_output=True, text=True)
    assert pip_config_files(environ) == json.loads(done.stdout)


def test_config_file_search_order_applies(tmp_path):
    home = tmp_path / "home"
    write(home / ".pip" / "pip.conf", "[global]\ntimeout = 1\nretries = 1\n")
    write(home / ".config" / "pip" / "pip.conf", "[global]\ntimeout = 2\n")
    environ = {"HOME": str(home), "XDG_CONFIG_DIRS": str(tmp_path / "none")}
    # Only our files: /etc and sys.prefix may hold files on this machine.
    files = [f for f in pip_config_files(environ) if f.startswith(str(tmp_path))]
    assert len(files) == 3  # xdg dir, ~/.pip, ~/.config/pip
    result = pip_defaults(environ, config_files=files)
    assert (result.timeout, result.retries) == (2.0, 1)


def test_an_existing_pip_config_file_replaces_the_users_files(tmp_path):
    # as pip: PIP_CONFIG_FILE that exists skips ~/.pip and ~/.config/pip (not a missing one)
    home = tmp_path / "home"
    write(home / ".config" / "pip" / "pip.conf", "[global]\ntimeout = 2\nretries = 1\n")
    env_conf = str(tmp_path / "env.conf")
    environ = {"HOME": str(home), "XDG_CONFIG_DIRS": str(tmp_path / "none")}
    environ["PIP_CONFIG_FILE"] = env_conf
    mine = [f for f in pip_config_files(environ) if f.startswith(str(tmp_path))]
    assert f"{home}/.config/pip/pip.conf" in mine
    write(tmp_path / "env.conf", "[global]\nretries = 3\n")
    mine = [f for f in pip_config_files(environ) if f.startswith(str(tmp_path))]
    assert mine == [f"{tmp_path}/none/pip/pip.conf", env_conf]
    result = pip_defaults(environ, config_files=mine)
    assert (result.timeout, result.retries) == (15.0, 3)


def test_devnull_switches_config_files_off(tmp_path):
    home = tmp_path / "home"
    write(home / ".config" / "pip" / "pip.conf", "[global]\ntimeout = 2\n")
    environ = {"HOME": str(home), "PIP_CONFIG_FILE": os.devnull}
    assert pip_config_files(environ) == [os.devnull]
    assert pip_defaults(environ) == PipDefaults()


def test_pips_own_proxy_is_read(tmp_path):
    conf = write(tmp_path / "pip.conf", "[global]\nproxy = http://u:p@file-proxy:3128\n")
    assert pip_defaults({}, config_files=[conf]).proxy == "http://u:p@file-proxy:3128"
    environ = {"PIP_PROXY": "http://env-proxy:3128"}
    assert pip_defaults(environ, config_files=[conf]).proxy == "http://env-proxy:3128"
    # pip reads "[user:passwd@]proxy.server:port" as an http:// proxy
    environ = {"PIP_PROXY": "u:s3cr3t@env-proxy:3128"}
    assert pip_defaults(environ, config_files=[conf]).proxy == "http://u:s3cr3t@env-proxy:3128"
