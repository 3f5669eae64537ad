"""``peep verify``: console and GUI scripts must run the verified entry point, nothing else.

An installer writes each script of a wheel's ``entry_points.txt`` itself, so there is no hash
to compare it with. Instead the script is read (never run): its first line(s) must start the
target interpreter, and its Python must be an installer's launcher for exactly that entry
point. pip, distlib and uv word the launcher differently from version to version, so the code
is compared as a syntax tree with a closed list of what a launcher may do besides importing
and calling the entry point: fix up ``sys.argv[0]`` with string operations.
"""

from __future__ import annotations

import ast
import configparser
import io
import os
import posixpath
import re
import tokenize
from collections.abc import Sequence

from peep_setuptools.frozen import frozen
from peep_setuptools.hashes import open_regular

#: entry point groups whose scripts an installer writes
SCRIPT_GROUPS = ("console_scripts", "gui_scripts")
_ENTRY = re.compile(
    r"\s*(?P<module>[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)\s*:\s*"
    r"(?P<attr>[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)\s*(?:\[[^\]]*\])?\s*"
)
# distlib's launcher for an interpreter path that a #! line cannot hold (long, spaces).
_SH_EXEC = re.compile(
    r"""'''exec' (?:(?P<q>["'])(?P<quoted>[\w./+@:~ -]+)(?P=q)|(?P<bare>[\w./+@:~-]+))"""
    r""" "\$0" "\$@"\n?"""
)
_SAFE_PATH = re.compile(r"[\w./+@:~-]+")


@frozen
class EntryPoint:
    """One script an installer writes: ``name = module:attr``."""

    name: str
    group: str
    value: str


def parse_entry_points(text: str) -> tuple[EntryPoint, ...]:
    """The console and GUI scripts of an ``entry_points.txt`` (pure); ValueError if unreadable."""
    parser = configparser.ConfigParser(interpolation=None, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    try:
        parser.read_string(text)
    except configparser.Error as exc:
        raise ValueError(str(exc).splitlines()[0]) from None
    return tuple(
        EntryPoint(name, group, value.strip())
        for group in SCRIPT_GROUPS
        if parser.has_section(group)
        for name, value in parser.items(group)
    )


def launcher_places(
    name: str, scripts: str, base: str, files: Sequence[str]
) -> tuple[list[str], list[str]]:
    """(existing, all) places of script ``name``, where it could be run from.

    The installer's ``scripts`` folder, and wherever the distribution's (writable) RECORD
    ``files``, relative to ``base``, say it is.
    """
    listed = [
        os.path.normpath(os.path.join(base, *f.split("/")))
        for f in files
        if posixpath.basename(f) == name and f.startswith("../")
    ]
    home = [os.path.join(scripts, name)] if scripts else []
    paths = list(dict.fromkeys(home + listed))
    return [p for p in paths if os.path.lexists(p)], paths


def _read(path: str, limit: int) -> bytes | str:
    """The file's bytes, or why they cannot be read."""
    try:
        with open_regular(path) as stream:
            data = stream.read(limit + 1)
    except OSError as exc:
        return f"cannot read it: {exc.strerror or exc}"
    return "it is larger than the wheel's copy" if len(data) > limit else data


def check_copied_script(path: str, original: bytes, python: str) -> str | None:
    """Why the installed copy of a wheel's ``.data/scripts`` file differs; None if it does not.

    Installers copy such a file as it is, except a first line ``#!python``, which becomes a
    line (or distlib's ``/bin/sh`` lines) that starts the target interpreter.
    """
    data = _read(path, len(original) + 4096)
    if isinstance(data, str):
        return data
    if not original.startswith(b"#!python"):
        return None if data == original else "it differs from the wheel's copy"
    body, why = _launched_by(data.decode("utf-8", "surrogateescape"), python)
    if why is not None:
        return why
    rest = original.partition(b"\n")[2]
    return (
        None
        if body.encode("utf-8", "surrogateescape") == rest
        else ("it differs from the wheel's copy")
    )


def check_script(path: str, entry: EntryPoint, python: str) -> str | None:
    """Why the script at ``path`` is not the launcher of ``entry`` for ``python``; None if it is.

    Reads the file only. ``python`` is the target's ``sys.executable``.
    """
    data = _read(path, 1024 * 1024)
    if isinstance(data, str):
        return data if data.startswith("cannot") else "it is too large to be a launcher"
    try:
        encoding = tokenize.detect_encoding(io.BytesIO(data).readline)[0]
        text = data.decode("utf-8")
    except (SyntaxError, UnicodeDecodeError):
        return "it is not UTF-8 text"
    if encoding != "utf-8":
        return f"it declares the encoding {encoding}"
    body, why = _launched_by(text, python)
    if why is not None:
        return why
    match = _ENTRY.fullmatch(entry.value)
    if match is None:
        return f"peep cannot read the entry point {entry.value!r}"
    try:
        tree = ast.parse(body)
    except (SyntaxError, ValueError):
        return "it is not Python"
    if not _is_launcher(tree.body, match.group("module"), match.group("attr")):
        return f"it does not only run {entry.value}"
    return None


def _launched_by(text: str, python: str) -> tuple[str, str | None]:
    """(the Python after the interpreter line(s), why they do not start ``python`` or None)."""
    body, interpreter = _split_launcher(text)
    if interpreter is None:
        return body, "its first line does not start an interpreter directly"
    if not _same_interpreter(interpreter, python):
        return body, f"it starts {interpreter}, not {python}"
    return body, None


def _split_launcher(text: str) -> tuple[str, str | None]:
    """(the Python after the interpreter line(s), the interpreter path or None)."""
    first, _, rest = text.partition("\n")
    if first == "#!/bin/sh":
        second, _, rest = rest.partition("\n")
        third, _, rest = rest.partition("\n")
        found = _SH_EXEC.fullmatch(second + "\n")
        if found is None or third != "' '''":
            return text, None
        # Python reads these two lines as a string statement; sh runs the exec.
        return rest, found.group("quoted") or found.group("bare")
    if not first.startswith("#!") or not _SAFE_PATH.fullmatch(first[2:]):
        return text, None
    return rest, first[2:]


def _same_interpreter(interpreter: str, python: str) -> bool:
    """The same file as the target's interpreter, in the same folder (so the same venv)."""
    if not os.path.isabs(interpreter):
        return False
    try:
        same_folder = os.path.samefile(os.path.dirname(interpreter), os.path.dirname(python))
        return same_folder and os.path.samefile(interpreter, python)
    except OSError:
        return False


def _dump(source: str) -> str:
    return ast.dump(ast.parse(source).body[0])


def _is_launcher(body: Sequence[ast.stmt], module: str, attr: str) -> bool:
    """Imports, the entry point's import and call, and sys.argv[0] fix-ups; nothing else."""
    importing = _dump(f"from {module} import {attr.split('.')[0]}")
    calling = _dump(f"sys.exit({attr}())")
    main_test = ast.dump(ast.parse("__name__ == '__main__'", mode="eval").body)
    imported = 0
    statements = list(body)
    for statement in statements[:-1]:
        dumped = ast.dump(statement)
        if dumped in (_dump("import re"), _dump("import sys")):
            continue
        if dumped == importing:
            imported += 1
            continue
        return False
    main = statements[-1] if statements else None
    if not isinstance(main, ast.If) or main.orelse or ast.dump(main.test) != main_test:
        return False
    inner = list(main.body)
    if not inner or ast.dump(inner[-1]) != calling:
        return False
    for statement in inner[:-1]:
        if ast.dump(statement) == importing:
            imported += 1
        elif not _fixes_argv0(statement):
            return False
    return imported == 1


_ARGV0 = "sys.argv[0]"


def _fixes_argv0(statement: ast.stmt) -> bool:
    """``sys.argv[0] = <string expression>``, or an if/elif chain of only those."""
    if isinstance(statement, ast.Assign):
        return (
            len(statement.targets) == 1
            and ast.unparse(statement.targets[0]) == _ARGV0
            and _pure_string(statement.value)
        )
    if isinstance(statement, ast.If):
        return (
            _pure_string(statement.test)
            and all(_fixes_argv0(s) for s in statement.body)
            and all(_fixes_argv0(s) for s in statement.orelse)
        )
    return False


#: what a fix-up may call: string methods on sys.argv[0], and re.sub
_CALLS = frozenset({"endswith", "removesuffix", "replace", "startswith", "sub"})


def _pure_string(node: ast.expr) -> bool:
    """Constants, ``sys.argv[0]``, slices of it, string methods and ``re.sub`` of those."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, (str, int)) and not isinstance(node.value, bool)
    if isinstance(node, ast.Subscript):
        if ast.unparse(node) == _ARGV0:
            return True
        return _pure_string(node.value) and _pure_slice(node.slice)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return _pure_string(node.operand)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and not node.keywords:
        owner = node.func.value
        known = ast.unparse(owner) == "re" if node.func.attr == "sub" else _pure_string(owner)
        return (
            node.func.attr in _CALLS
            and known
            and all(_pure_string(a) for a in node.args)
            and not any(isinstance(a, ast.Starred) for a in node.args)
        )
    return False


def _pure_slice(node: ast.expr) -> bool:
    if isinstance(node, ast.Slice):
        parts = (node.lower, node.upper, node.step)
        return all(p is None or _pure_string(p) for p in parts)
    return _pure_string(node)
