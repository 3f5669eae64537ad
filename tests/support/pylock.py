"""The session's PEP 751 lock file, which more than one end-to-end file installs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from peep_setuptools.hashes import hash_file


def sha512_hex(path: Path) -> str:
    """The sha512 of a file, in hex (lock files carry it beside the sha256)."""
    return hash_file(str(path), ("sha512",))["sha512"].hex


def session_lock(
    packages: Any, index: Any, *, alpha_hash: str | None = None, beta_hash: str | None = None
) -> str:
    """A pylock.toml for the session index (the ``packages`` and ``index`` fixtures).

    alpha 1.0's wheel (sha256 and sha512), beta 1.0's sdist by local path, epsilon from the
    ``/other/`` index, a win32-only delta and a wheel for another interpreter; the alpha
    and beta hashes can be replaced (a mismatch).
    """
    alpha_hash = alpha_hash or packages.sha256("alpha-1.0").hex
    beta_hash = beta_hash or packages.sha256("beta-1.0").hex
    base = index.url.rstrip("/")
    return f"""
lock-version = "1.0"
created-by = "tests"
requires-python = ">=3.9"

[[packages]]
name = "alpha"
version = "1.0"
[[packages.wheels]]
url = "{base}/files/alpha-1.0-cp27-cp27m-win32.whl"
hashes = {{sha256 = "{"f" * 64}"}}
[[packages.wheels]]
name = "alpha-1.0-py3-none-any.whl"
url = "{index.add_file("alpha", packages["alpha-1.0"])}"
hashes = {{sha256 = "{alpha_hash}", sha512 = "{sha512_hex(packages["alpha-1.0"])}"}}

[[packages]]
name = "delta"
version = "1.0"
marker = "sys_platform == 'win32'"
[[packages.wheels]]
url = "{base}/files/delta-1.0-py3-none-any.whl"
hashes = {{sha256 = "{packages.sha256("delta-1.0").hex}"}}

[[packages]]
name = "beta"
version = "1.0"
[packages.sdist]
path = "{packages["beta-1.0"]}"
hashes = {{sha256 = "{beta_hash}"}}

[[packages]]
name = "epsilon"
[packages.archive]
url = "{index.add_file("epsilon", packages["epsilon-1.0"], index="other")}"
hashes = {{sha256 = "{packages.sha256("epsilon-1.0").hex}"}}
"""
