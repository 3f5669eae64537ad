"""The TOML loader on every supported Python: tomllib (3.11+), else tomli, else setuptools' copy.

pytest itself brings tomli on Python < 3.11, so the suite would never reach the last fallback
on 3.9 or 3.10 by accident: these tests hide the first two (a ``None`` entry in sys.modules
makes an import fail, as if the module were absent).
"""

from __future__ import annotations

import sys

import pytest

from peep_setuptools.errors import RequirementsFileError
from peep_setuptools.tomlread import toml_loads

TEXT = 'lock-version = "1.0"\n[[packages]]\nname = "alpha"\n'
PARSED = {"lock-version": "1.0", "packages": [{"name": "alpha"}]}


@pytest.fixture
def no_tomllib_or_tomli(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tomllib", None)
    monkeypatch.setitem(sys.modules, "tomli", None)
    monkeypatch.delitem(sys.modules, "_peep_vendored_tomli", raising=False)


def test_parses_with_the_first_loader_available() -> None:
    assert toml_loads(TEXT, source="pylock.toml") == PARSED


def test_falls_back_to_the_copy_inside_setuptools(no_tomllib_or_tomli: None) -> None:
    assert toml_loads(TEXT, source="pylock.toml") == PARSED
    assert "_peep_vendored_tomli" in sys.modules  # loaded by file; setuptools not imported
    with pytest.raises(RequirementsFileError, match=r"^pylock\.toml: not valid TOML: "):
        toml_loads("x = \n", source="pylock.toml")


def test_without_any_loader_says_what_to_install(
    no_tomllib_or_tomli: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "setuptools", None)
    with pytest.raises(RequirementsFileError, match=r"'pip install tomli'"):
        toml_loads(TEXT, source="pylock.toml")
