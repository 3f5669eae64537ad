"""The one atomic writer: a temporary file, then one rename, so readers never see half a file."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Callable
from typing import BinaryIO


def replace_file(
    path: str,
    fill: Callable[[BinaryIO], object],
    *,
    temp_dir: str | None = None,
    mode: int | None = None,
    durable: bool = True,
) -> None:
    """Let ``fill`` write a temporary file, then rename it over ``path`` in one step.

    The temporary file lives in ``temp_dir`` (default: beside ``path``), which must be on
    the same file system for the rename to be atomic. ``mode`` None keeps the mode of the
    file replaced, or gives a new file the umask's default. ``durable`` syncs the data to
    disk before the rename. Raises OSError, with the temporary file removed; any other
    exception from ``fill`` also leaves no temporary file behind.
    """
    folder = temp_dir or os.path.dirname(os.path.abspath(path))
    if mode is None:
        mode = _mode_of(path)
    handle, temporary = tempfile.mkstemp(prefix=".peep-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(handle, "wb") as stream:
            fill(stream)
            if durable:
                stream.flush()
                os.fsync(stream.fileno())
        os.chmod(temporary, mode)  # mkstemp makes it 0600
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def link_file(source: str, path: str, *, temp_dir: str, mode: int) -> None:
    """Give the complete file ``source`` a second name, ``path``, in one rename; no copy.

    ``source`` gets ``mode`` first (both names are one file). The link is made under a
    temporary name in ``temp_dir`` (same file system as ``path``), then renamed over
    ``path``. Raises OSError (across file systems: EXDEV), with no temporary name left.
    """
    import secrets  # with hmac and OpenSSL's libcrypto: not for a run that writes nothing

    os.chmod(source, mode)
    while True:
        temporary = os.path.join(temp_dir, f".peep-{secrets.token_hex(8)}.tmp")
        try:
            os.link(source, temporary)
            break
        except FileExistsError:
            continue
    try:
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def replace_text(path: str, text: str) -> None:
    """Replace ``path`` with ``text`` as UTF-8, without newline translation; raises OSError."""
    replace_file(path, lambda stream: stream.write(text.encode("utf-8")))


def _mode_of(path: str) -> int:
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask
