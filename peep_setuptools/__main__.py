"""``python -m peep_setuptools``: the same as the ``peep`` command."""

from __future__ import annotations

import sys

from peep_setuptools.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
