"""``peep verify``: the bytecode and extension modules that Python would run instead of a source.

A ``__pycache__`` file whose header matches its source (timestamp and size, or a hash-based
pyc) is imported instead of the ``.py``, so a verified source proves nothing about what runs
unless that pyc holds the source's code. The target interpreter compiles each verified source
and compares the code objects, because only it knows its magic number, cache tag and compiler.
"""

from __future__ import annotations

import json
import os
import posixpath
import tempfile
from collections.abc import Iterable, Mapping

from peep_setuptools.errors import TargetError
from peep_setuptools.target import run_script

# Runs in the target interpreter, stdlib only. Reads {"sources": [...]} from the file named
# by argv[1]; prints {source: [[path, reason], ...]} for every file that would run in a
# source's place with other code. Nothing it reads is executed (marshal only decodes).
_PROBE = r"""
import importlib.machinery, importlib.util, json, marshal, os, stat, sys, types
MAGIC = importlib.util.MAGIC_NUMBER
with open(sys.argv[1]) as f:
    request = json.load(f)
sources, namespaces = request["sources"], request.get("namespaces", [])

def same(a, b):
    if not (isinstance(a, types.CodeType) and isinstance(b, types.CodeType)) or a != b:
        return False
    if getattr(a, "co_qualname", None) != getattr(b, "co_qualname", None):
        return False
    nested = [(x, y) for x, y in zip(a.co_consts, b.co_consts) if isinstance(y, types.CodeType)]
    return all(same(x, y) for x, y in nested)

def loads_instead(source, data):
    # As importlib's SourceLoader: which pycs it would use without recompiling.
    if len(data) < 16 or data[:4] != MAGIC:
        return False
    flags = int.from_bytes(data[4:8], "little")
    if flags & ~0b11:
        return False
    if flags & 0b1:
        return True  # hash-based: compared whatever --check-hash-based-pycs says
    st = os.stat(source)
    mtime = int.from_bytes(data[8:12], "little")
    size = int.from_bytes(data[12:16], "little")
    return mtime == int(st.st_mtime) & 0xFFFFFFFF and size == st.st_size & 0xFFFFFFFF

EXTENSIONS = importlib.machinery.EXTENSION_SUFFIXES

class NotRegular(OSError):
    pass

def read_regular(path):
    # A FIFO would block for ever, a device (a link to /dev/zero) never end: not opened,
    # and one swapped in after the stat is opened without blocking and refused.
    if not stat.S_ISREG(os.stat(path).st_mode):
        raise NotRegular(path)
    with os.fdopen(os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)), "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            raise NotRegular(path)
        return f.read()

def examine(source):
    found = []
    folder, filename = os.path.split(source)
    if filename.endswith(".py"):
        stem, before = filename[:-3], EXTENSIONS
    else:  # an extension module: only the suffixes before its own win
        own = [s for s in EXTENSIONS if filename.endswith(s)]
        if not own:
            return found
        stem = filename[: -len(own[0])]
        before = EXTENSIONS[: EXTENSIONS.index(own[0])]
    # As FileFinder: extension suffixes come before .py, for a package's __init__ too.
    for suffix in before:
        if os.path.exists(os.path.join(folder, stem + suffix)):
            found.append([os.path.join(folder, stem + suffix), "an extension module"])
    package = os.path.join(folder, stem)
    if stem != "__init__" and os.path.isdir(package) and any(
        n.startswith("__init__.") for n in os.listdir(package)
    ):
        found.append([package, "a package"])
    if not filename.endswith(".py"):
        return found
    text = read_regular(source)  # not one: the RECORD check says it changed
    for level in (0, 1, 2):
        pyc = importlib.util.cache_from_source(source, optimization=level or "")
        try:
            data = read_regular(pyc)
        except FileNotFoundError:
            continue
        except NotRegular:
            found.append([pyc, "not a regular file"])  # a FIFO would hang an import
            continue
        except OSError as exc:
            found.append([pyc, "unreadable: " + str(exc)])
            continue
        if not loads_instead(source, data):
            continue
        try:
            code = marshal.loads(data[16:])
        except Exception:
            found.append([pyc, "not readable bytecode"])
            continue
        try:
            expected = compile(text, source, "exec", dont_inherit=True, optimize=level)
        except Exception:
            expected = None
        if not same(code, expected):
            found.append([pyc, "other code than its source"])
    return found

def above(folder):
    # A namespace folder (no __init__ in the wheel): an __init__ in it makes it a package,
    # and a module of its name beside it is imported instead; either runs before its modules.
    parent, name = os.path.split(folder)
    found = [[os.path.join(folder, "__init__" + s), "it makes a package of the namespace folder"]
             for s in importlib.machinery.all_suffixes()]
    found += [[os.path.join(parent, name + s), "a module of the namespace folder's name"]
              for s in importlib.machinery.all_suffixes()]
    return [pair for pair in found if os.path.lexists(pair[0])]

result = {}
for source in sources:
    try:
        found = examine(source)
    except OSError:
        continue  # a missing or special source is reported by the RECORD check
    if found:
        result[source] = found
for folder in namespaces:
    found = above(folder)
    if found:
        result[folder] = found
print(json.dumps(result))
"""


#: The verified files examined: sources, and extension modules (the target knows which).
MODULE_ENDINGS = (".py", ".so", ".pyd")


def shadowing(
    python: str, sources: Iterable[str], namespaces: Iterable[str] = ()
) -> dict[str, tuple[tuple[str, str], ...]]:
    """Files that would run instead of each verified source, with why; raises TargetError.

    ``sources`` are absolute paths of verified ``.py`` files and extension modules; the
    answer maps each that has any to ``(path, reason)`` pairs: a pyc with other code (any
    optimization level, timestamp or hash-based), an extension module that comes first or
    a package of the same name. It maps
    each of the ``namespaces`` (absolute paths of folders the wheel has no ``__init__`` in,
    above its modules) to the ``__init__`` in it or the module of its name beside it.
    """
    wanted = sorted({s for s in sources if s.endswith(MODULE_ENDINGS)})
    folders = sorted(set(namespaces))
    if not wanted and not folders:
        return {}
    with tempfile.TemporaryDirectory(prefix="peep-verify-") as folder:
        request = os.path.join(folder, "sources.json")
        with open(request, "w", encoding="utf-8") as stream:
            json.dump({"sources": wanted, "namespaces": folders}, stream)
        # -I -S: no site-packages, so no .pth file runs in the probe and answers for it
        done = run_script(python, _PROBE, request, isolated=True)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise TargetError(f"cannot compare the bytecode of {python}: {last}")
    try:
        data = json.loads(done.stdout)
        return {str(k): tuple((str(p), str(r)) for p, r in v) for k, v in _items(data)}
    except (ValueError, TypeError) as exc:
        raise TargetError(f"cannot understand what {python} reports about its bytecode") from exc


def _items(data: object) -> Iterable[tuple[object, list[list[object]]]]:
    if not isinstance(data, Mapping):
        raise TypeError("not an object")
    return data.items()


def namespace_folders(expected: Iterable[str]) -> list[str]:
    """The folders above the wheel's modules that it has no ``__init__`` in (``a/b``).

    Python imports a module planted there as ``a``, or an ``__init__`` planted in one,
    before any verified module below it. Folders inside a package are not listed: the
    package's own folders are walked for added files.
    """
    paths = set(expected)
    inits = {posixpath.dirname(p) for p in paths if posixpath.basename(p).startswith("__init__.")}
    found: set[str] = set()
    for path in paths:
        if not path.endswith(".py"):
            continue
        parts = path.split("/")[:-1]
        for depth in range(1, len(parts) + 1):
            folder = "/".join(parts[:depth])
            if folder in inits or not parts[depth - 1].isidentifier():
                break
            found.add(folder)
    return sorted(found)
