"""Reading TOML text: the standard library's ``tomllib``, else ``tomli``, else setuptools' copy.

The one TOML loader of the package (lock files and sdists' ``pyproject.toml``).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, cast

from peep_setuptools.errors import RequirementsFileError

TomlLoads = Callable[[str], dict[str, Any]]


def _vendored_tomli() -> ModuleType | None:
    """Load setuptools' own copy of tomli, loaded by file without importing setuptools."""
    spec = importlib.util.find_spec("setuptools")
    if spec is None or not spec.submodule_search_locations:
        return None
    for base in spec.submodule_search_locations:
        package = Path(base) / "_vendor" / "tomli"
        if (package / "__init__.py").is_file():
            name = "_peep_vendored_tomli"
            if name in sys.modules:
                return sys.modules[name]
            found = importlib.util.spec_from_file_location(
                name, package / "__init__.py", submodule_search_locations=[str(package)]
            )
            if found is None or found.loader is None:
                return None
            module = importlib.util.module_from_spec(found)
            sys.modules[name] = module  # its relative imports look it up there
            try:
                found.loader.exec_module(module)
            except Exception:  # any failure just means "not usable"
                del sys.modules[name]
                return None
            return module
    return None


def _toml_parser() -> TomlLoads:
    for name in ("tomllib", "tomli"):
        try:
            return cast(TomlLoads, importlib.import_module(name).loads)
        except ImportError:
            continue
    vendored = _vendored_tomli()
    if vendored is not None:
        return cast(TomlLoads, vendored.loads)
    raise RequirementsFileError(
        "reading TOML needs Python 3.11 or newer, or the 'tomli' package on older Pythons; "
        "run 'pip install tomli' (or use Python 3.11+)"
    )


def toml_loads(text: str, *, source: str) -> dict[str, Any]:
    """Parse TOML text; RequirementsFileError naming ``source`` if it is not valid TOML."""
    loads = _toml_parser()
    try:
        return loads(text)
    except ValueError as exc:  # tomllib.TOMLDecodeError is a ValueError
        raise RequirementsFileError(f"{source}: not valid TOML: {exc}") from None
