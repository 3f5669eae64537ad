"""Where pip would look: index options from pip's configuration files and PIP_* variables."""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from peep_setuptools.errors import UsageError
from peep_setuptools.frozen import frozen
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
    "pypi-url": "index_url",
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


@frozen
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

    ``PIP_CONFIG_FILE`` comes last; if it is ``os.devnull`` it is the only one, and if it
    exists pip skips the user's own files (``~/.pip``, ``~/.config/pip``), as here.
    """
    env_file = environ.get("PIP_CONFIG_FILE") or None
    if env_file == os.devnull:
        return [env_file]
    user = not (env_file and os.path.exists(env_file))
    prefix = sys.prefix if prefix is None else prefix
    home = environ.get("HOME") or os.path.expanduser("~")
    files: list[str] = []
    if sys.platform == "win32":
        program_data = environ.get("ProgramData") or environ.get("PROGRAMDATA") or ""
        if program_data:
            files.append(os.path.join(program_data, "pip", "pip.ini"))
        appdata = environ.get("APPDATA")
        if user:
            files.append(os.path.join(home, "pip", "pip.ini"))
            files.extend([os.path.join(appdata, "pip", "pip.ini")] if appdata else [])
        files.append(os.path.join(prefix, "pip.ini"))
    else:
        # pip 26.3 (its platformdirs) takes the absolute XDG folders only, as XDG says
        xdg_dirs = [d.strip() for d in environ.get("XDG_CONFIG_DIRS", "").split(os.pathsep)]
        xdg_dirs = [d for d in xdg_dirs if os.path.isabs(d)] or ["/etc/xdg"]
        files.extend(os.path.join(d, "pip", "pip.conf") for d in xdg_dirs)
        files.append("/etc/pip.conf")
        if user:
            files.extend(_user_files(environ, home))
        files.append(os.path.join(prefix, "pip.conf"))
    if env_file:
        files.append(env_file)
    return files


def _user_files(environ: Mapping[str, str], home: str) -> list[str]:
    files = [os.path.join(home, ".pip", "pip.conf")]
    if sys.platform == "darwin":
        files.append(os.path.join(home, "Library", "Application Support", "pip", "pip.conf"))
    config_home = environ.get("XDG_CONFIG_HOME", "").strip()
    if not os.path.isabs(config_home):
        config_home = os.path.join(home, ".config")
    files.append(os.path.join(config_home, "pip", "pip.conf"))
    return files


@frozen
class PipSetting:
    """One option as pip would apply it: its key, the value that wins, where that is from."""

    #: pip's name for it: lower case, dashes (``no-index``)
    key: str
    value: str
    #: ``FILE [section] key``, or the variable's name
    where: str
    #: the ``PIP_*`` variable it comes from as it is; None for a file's
    variable: str | None = None


def normalized_name(name: str) -> str:
    """The key pip reads a config file's name or a ``PIP_*`` variable's (less ``PIP_``) as."""
    name = name.lower().replace("_", "-")
    return name[2:] if name.startswith("--") else name


def pip_settings(
    environ: Mapping[str, str],
    command: str = "install",
    *,
    prefix: str | None = None,
    config_files: Sequence[str] | None = None,
) -> list[PipSetting]:
    """Every setting ``pip COMMAND`` would take from its files and ``PIP_*``, as pip does.

    pip merges each ``section.key`` over the files in their order (a later file wins, an
    empty value too), adds the environment as section ``:env:``, drops empty values, then
    applies ``[global]``, ``[COMMAND]``, ``:env:`` in turn. Each key comes once here, with
    the value that wins, where pip applied it last: the order matters where two keys set
    one option (``timeout``, ``default-timeout``). ``prefix``: the site file's folder (the
    target's ``sys.prefix``). Raises UsageError for a file pip refuses too.
    """
    files = pip_config_files(environ, prefix=prefix) if config_files is None else config_files
    sections = ("global", command, ":env:")
    merged: dict[tuple[str, str], tuple[str, str, str | None]] = {}
    for path in files:
        if path != os.devnull and os.path.isfile(path):
            for section, key, value in _read_file(path, sections):
                merged[section, key] = (value, f"{path} [{section}] {key}", None)
    for name, value in environ.items():
        if name.startswith("PIP_") and name[4:].lower() not in ("version", "help"):
            merged[":env:", normalized_name(name[4:])] = (value, name, name)
    last: dict[str, PipSetting] = {}
    for section in sections:
        for (where, key), (value, shown, variable) in merged.items():
            if where == section and value:
                last.pop(key, None)  # to the end: pip applies it after the others
                last[key] = PipSetting(key, value, shown, variable)
    return list(last.values())


def pip_defaults(
    environ: Mapping[str, str],
    *,
    prefix: str | None = None,
    config_files: Sequence[str] | None = None,
) -> PipDefaults:
    """Return pip's index settings from its config files, then ``PIP_*`` variables.

    ``prefix``: the site file's folder, the target's ``sys.prefix`` (default: ours).
    ``config_files`` replaces pip's search (pass paths in tests); missing files are
    skipped. The order is pip's (``pip_settings``): a list option given later replaces,
    not extends, an earlier one. Raises UsageError naming the file or variable for a bad
    value.
    """
    files = pip_config_files(environ, prefix=prefix) if config_files is None else config_files
    values: dict[str, Any] = {}
    for setting in pip_settings(environ, config_files=files):
        _apply(values, setting.key, setting.value, setting.where)
    read = tuple(f for f in files if f != os.devnull and os.path.isfile(f))
    return replace(PipDefaults(files=read), **values)


def _read_file(path: str, sections: Sequence[str]) -> list[tuple[str, str, str]]:
    """The file's ``(section, key, value)`` of each of ``sections``, in its order."""
    # Only a run with a pip configuration file loads the parser (~1 ms of a warm run).
    import configparser
    import locale

    parser = configparser.RawConfigParser()
    # pip's own names, as pip 26 reads them: two spellings of one key in one
    # section are an error there, not the later one silently
    parser.optionxform = normalized_name  # type: ignore[assignment,method-assign]
    try:
        # pip's encoding: a file it cannot decode it refuses, and what it can decode goes
        # into an environment (which holds the locale's characters only)
        encoding = "utf-8" if sys.flags.utf8_mode else locale.getpreferredencoding(False)
        with open(path, encoding=encoding) as stream:
            parser.read_file(stream, source=path)
    except (configparser.ParsingError, configparser.MissingSectionHeaderError) as exc:
        # Its message quotes the line, which may be a secret (a token on a line of its own).
        if isinstance(exc, configparser.MissingSectionHeaderError):
            lines = str(exc.lineno)
        else:
            lines = ", ".join(str(number) for number, _ in exc.errors)
        reason = f"line {lines}: neither a [section] nor a key = value"
        raise UsageError(f"{path}: cannot read pip configuration: {reason}") from None
    except OSError:  # pip skips a file it cannot open or read (configparser's read)
        return []
    except (configparser.Error, UnicodeDecodeError) as exc:
        reason = str(exc).replace("\n", " ").strip()
        raise UsageError(f"{path}: cannot read pip configuration: {reason}") from None
    found = []
    for section in sections:
        if parser.has_section(section):
            for name, value in parser.items(section):
                if "\0" in name or "\0" in value:  # no environment variable can hold it
                    raise UsageError(f"{path}: cannot read pip configuration: a NUL character")
                found.append((section, name, value))
    return found


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
