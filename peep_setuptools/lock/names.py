"""Which files are PEP 751 lock files, by name alone.

Apart from ``parse`` so that a run without lock files can tell so without importing the
lock-file code.
"""

from __future__ import annotations

import os
import re

_LOCK_NAME = re.compile(r"pylock\.([^.]+)\.toml")


def is_lock_file(path: str) -> bool:
    """Tell whether a file name is a PEP 751 lock file: ``pylock.toml`` or ``pylock.NAME.toml``."""
    name = os.path.basename(path)
    return name == "pylock.toml" or _LOCK_NAME.fullmatch(name) is not None
