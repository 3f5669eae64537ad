"""Where pip would look: index options from pip's configuration files and PIP_* variables."""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from peep_setuptools.errors import UsageError
from peep_setuptools.urls import proxy_url

DEFAULT_INDEX_URL = "https://pypi.org/simple/"
DEFAULT_TIMEOUT = 15.0
DEFAULT_RETRIES = 5

_TRUE = frozenset({"1", "y", "yes", "t", "true", "on"})
_FALSE = frozenset({"0", "n", "no", "f", "false", "off"})
#: pip's option names (config keys, and PIP_<NAME> in the environment) that we read;
#: later names of one option win, so PIP_TIMEOUT beats PIP_DEFAULT_TIMEOUT.
_KEYS = {
    "index-url": "index_url",
    "extra-index-url": "extra_index_urls",
    "find-links": "find_links",
    "no-index": "no_index",
    "cert": "cert",
    "default-timeout": "timeout",
    "timeout": "timeout",
    "retries": "retries",
    "trusted-host": "trusted_hosts",
    "proxy": "proxy",
}
_LISTS = frozenset({"extra_index_urls", "find_links", "trusted_hosts"})


@dataclass(frozen=True)
class PipDefaults:
    """The index settings pip's own configuration would give ``pip install``."""

    index_url: str = DEFAULT_INDEX_URL
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    no_index: bool = False
    cert: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    retries: int = DEFAULT_RETRIES
    trusted_hosts: tuple[str, ...] = ()
    #: pip's own proxy (not ours: we only tell the installer of it)
    proxy: str | None = None
    #: the configuration files that existed and were read, in order
    files: tuple[str, ...] = ()


def pip_config_files(environ: Mapping[str, str], *, prefix: str | None = None) -> list[str]:
    """Return the configuration files pip would read, lowest precedence first.

    ``PIP_CONFIG_FILE`` comes last; if it is ``os.devnull`` it is the only one.
    """
    env_file = environ.get("PIP_CONFIG_FILE") or None
    if env_file == os.devnull:
        return [env_file]
    prefix = sys.prefix if prefix is None else prefix
    home = environ.get("HOME") or os.path.expanduser("~")
    files: list[str] = []
    if sys.platform == "win32":
        program_data = environ.get("ProgramData") or environ.get("PROGRAMDATA") or ""
        if program_data:
            files.append(os.path.join(program_data, "pip", "pip.ini"))
        files.append(os.path.join(home, "pip", "pip.ini"))
        appdata = environ.get("APPDATA")
        if appdata:
            files.append(os.path.join(appdata, "pip", "pip.ini"))
        files.append(os.path.join(prefix, "pip.ini"))
    else:
        xdg_dirs = environ.get("XDG_CONFIG_DIRS") or "/etc/xdg"
        files.extend(os.path.join(d, "pip", "pip.conf") for d in xdg_dirs.split(os.pathsep) if d)
        files.append("/etc/pip.conf")
        files.append(os.path.join(home, ".pip", "pip.conf"))
        if sys.platform == "darwin":
            files.append(os.path.join(home, "Library", "Application Support", "pip", "pip.conf"))
        config_home = environ.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
        files.append(os.path.join(config_home, "pip", "pip.conf"))
        files.append(os.path.join(prefix, "pip.conf"))
    if env_file:
        files.append(env_file)
    return files


def pip_defaults(
    environ: Mapping[str, str], *, config_files: Sequence[str] | None = None
) -> PipDefaults:
    """Return pip's index settings from its config files, then ``PIP_*`` variables.

    ``config_files`` replaces pip's search (pass paths in tests); missing files are
    skipped. As in pip, ``[global]`` from every file applies first, then ``[install]``,
    then the environment, and a list option given later replaces, not extends, an
    earlier one. Raises UsageError naming the file or variable for a bad value.
    """
    files = pip_config_files(environ) if config_files is None else list(config_files)
    read_files: list[str] = []
    sections: dict[str, dict[str, tuple[str, str]]] = {"global": {}, "install": {}}
    for path in files:
        if path == os.devnull or not os.path.isfile(path):
            continue
        _read_sections(path, sections)
        read_files.append(path)
    values: dict[str, Any] = {}
    for section in ("global", "install"):
        for key, (value, path) in sections[section].items():
            _apply(values, key, value, f"{path} [{section}] {key}")
    for key in _KEYS:
        env_name = "PIP_" + key.upper().replace("-", "_")
        if env_name in environ:
            _apply(values, key, environ[env_name], env_name)
    return replace(PipDefaults(files=tuple(read_files)), **values)


def _read_sections(path: str, sections: dict[str, dict[str, tuple[str, str]]]) -> None:
    """Add the file's values of each of ``sections`` to it: key -> (value, path)."""
    # Only a run with a pip configuration file loads the parser (~1 ms of a warm run).
    import configparser

    parser = configparser.RawConfigParser()
    try:
        with open(path, encoding="utf-8") as stream:
            parser.read_file(stream, source=path)
    except (configparser.Error, UnicodeDecodeError, OSError) as exc:
        reason = str(exc).replace("\n", " ").strip()
        raise UsageError(f"{path}: cannot read pip configuration: {reason}") from None
    for section in sections:
        if parser.has_section(section):
            for key, value in parser.items(section):
                sections[section][key.replace("_", "-").lower()] = (value, path)


def _apply(values: dict[str, Any], key: str, value: str, where: str) -> None:
    field = _KEYS.get(key)
    if field is None:
        return
    if field in _LISTS:
        values[field] = tuple(value.split())
    elif field == "no_index":
        values[field] = _boolean(value, where)
    elif field == "timeout":
        values[field] = _number(value, where, float)
    elif field == "retries":
        values[field] = int(_number(value, where, int))
    elif field == "cert":
        values[field] = os.path.expanduser(value.strip()) or None
    elif field == "proxy":
        values[field] = proxy_url(value.strip()) or None
    elif field == "index_url":
        values[field] = value.strip() or DEFAULT_INDEX_URL


def _boolean(value: str, where: str) -> bool:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise UsageError(f"{where}: {value!r} is not a boolean; use true or false")


def _number(value: str, where: str, kind: type[float] | type[int]) -> float:
    try:
        number = kind(value.strip())
    except ValueError:
        noun = "a number of seconds" if kind is float else "a whole number"
        raise UsageError(f"{where}: {value!r} is not {noun}") from None
    if number < 0 or not math.isfinite(number):
        raise UsageError(f"{where}: {value!r} must be a finite number, zero or more")
    return number
