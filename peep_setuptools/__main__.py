"""``python -m peep_setuptools``: the same as the ``peep`` command."""

from __future__ import annotations

from peep_setuptools.cli import run

if __name__ == "__main__":
    run()
