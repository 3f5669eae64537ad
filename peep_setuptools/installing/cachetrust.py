"""What makes the cache safe to read: it is ours, and the wheels we built carry our seal.

Anyone who can write the cache folder (a shared ``PEEP_CACHE_DIR``, a CI cache restored
from another branch, a folder another user created in /tmp first) can put any file and any
metadata there. So, as pip does, a cache root or entry that is not owned by this user, or
that group or others can write, is not used. And a wheel built from a verified sdist is
reused only if its entry carries a seal that the cache's writer cannot forge: an HMAC, with a
per-user key kept outside the cache (mode 0600), over the sdist's sha256, the target's tag,
the builder, and the wheel's name and sha256. Downloaded archives need no seal: their bytes
are checked against the pinned hashes every time they are read.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import hmac
import os
import secrets
import stat
from collections.abc import Mapping

from peep_setuptools.hashes import open_regular

_KEY_SIZE = 32
_SEAL_VERSION = b"peep-setuptools built wheel 1"


def default_key_file(environ: Mapping[str, str]) -> str:
    """``$XDG_STATE_HOME/peep-setuptools/cache-key``, else ``~/.local/state/...``."""
    state = environ.get("XDG_STATE_HOME", "").strip()
    # XDG: a relative path is invalid and must be ignored.
    if not state or not os.path.isabs(state):
        state = os.path.join(os.path.expanduser("~"), ".local", "state")
    return os.path.join(state, "peep-setuptools", "cache-key")


def untrusted_because(path: str, *, follow: bool = False) -> str | None:
    """Why ``path`` may have been written by someone else, or None if only we (or root) can.

    It must be owned by this user and not writable by group or others; a symlink is refused
    unless ``follow`` (then the link itself must be ours or root's, and its target is checked).
    """
    try:
        info = os.lstat(path)
        if stat.S_ISLNK(info.st_mode):
            if not follow:
                return "it is a symbolic link"
            if info.st_uid not in (os.geteuid(), 0):
                return f"it is a symbolic link owned by uid {info.st_uid}"
            info = os.stat(path)
    except OSError as exc:
        return f"cannot inspect it: {exc.strerror or exc}"
    if info.st_uid != os.geteuid():
        return f"it is owned by uid {info.st_uid}, not by you (uid {os.geteuid()})"
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return f"it is writable by group or others (mode {stat.S_IMODE(info.st_mode):o})"
    return None


def make_parents(path: str) -> None:
    """Create the missing folders above ``path``, each 0700 (makedirs would use the umask)."""
    parent = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(parent):
        return
    make_parents(parent)
    with contextlib.suppress(FileExistsError):
        os.mkdir(parent, 0o700)


def make_private_dirs(root: str, *parts: str, made: set[str] | None = None) -> str:
    """``root/parts...``, each missing level created 0755 whatever the umask; return it.

    Levels in ``made`` are taken as there; those made or found are added to it (a run that
    stores hundreds of archives asked for the same upper levels every time).
    """
    path = root
    for part in ("", *parts):
        path = os.path.join(path, part) if part else path
        if made is not None and path in made:
            continue
        with contextlib.suppress(FileExistsError):
            os.mkdir(path, 0o755)  # mkdir's mode is masked, never widened, by the umask
        if made is not None:
            made.add(path)
    return path


class Sealer:
    """Seals and checks built-wheel entries with this user's key."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def seal(self, *, sdist: str, tag: str, builder: str, filename: str, wheel: str) -> str:
        """The HMAC-SHA256 of a built wheel's entry (all arguments as the entry stores them)."""
        message = b"\0".join(
            [_SEAL_VERSION, *(v.encode() for v in (sdist, tag, builder, filename, wheel))]
        )
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def check(self, seal: object, **fields: str) -> bool:
        """True if ``seal`` is the seal of exactly these fields."""
        return isinstance(seal, str) and hmac.compare_digest(seal, self.seal(**fields))


def load_sealer(key_file: str, cache_root: str) -> Sealer | str:
    """The sealer with this user's key (made on first use), or why there can be none."""
    root = os.path.abspath(cache_root)
    if os.path.commonpath([root, os.path.abspath(key_file)]) == root:
        return f"the key file {key_file} is inside the cache"
    folder = os.path.dirname(key_file)
    try:
        make_parents(folder)
        with contextlib.suppress(FileExistsError):
            os.mkdir(folder, 0o700)
        key = _read_key(key_file, folder)
        if key is None:
            key = _create_key(key_file, folder)
    except OSError as exc:
        return f"cannot use the key file {key_file}: {exc.strerror or exc}"
    return Sealer(key) if isinstance(key, bytes) else key


def unsafe_ancestor(folder: str) -> str | None:
    """Why a folder on the way to ``folder`` lets someone else swap it for theirs, or None.

    Every folder whose entry the path goes through, also through each symbolic link (every
    hop, where it points now), must be owned by this user or root and not writable by group
    or others, unless sticky (/tmp); in a sticky folder the entry itself (a link too: its
    owner can replace it) must be ours or root's.
    """
    current = os.sep
    pending = list(reversed(os.path.abspath(folder).split(os.sep)))
    hops = 0
    while pending:
        part = pending.pop()
        if part in ("", "."):
            continue
        if part == "..":
            current = os.path.dirname(current)
            continue
        path = os.path.join(current, part)
        try:
            above = os.stat(current)
            entry = os.lstat(path) if pending or os.path.lexists(path) else above
        except OSError as exc:
            return f"{path} on the way to it cannot be inspected: {exc.strerror or exc}"
        why = _swappable(current, above, path, entry)
        if why is not None:
            return why
        if not stat.S_ISLNK(entry.st_mode):
            current = path
            continue
        hops += 1
        try:
            if hops > 40:
                raise OSError(errno.ELOOP, os.strerror(errno.ELOOP))
            target = os.readlink(path)
        except OSError as exc:
            return f"{path} on the way to it cannot be inspected: {exc.strerror or exc}"
        current = os.sep if os.path.isabs(target) else current
        pending.extend(reversed(target.split(os.sep)))
    return None


def _swappable(folder: str, above: os.stat_result, path: str, entry: os.stat_result) -> str | None:
    """Why someone else can replace ``path``, an entry of ``folder``, or None."""
    ours = (os.geteuid(), 0)
    writable = above.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    if above.st_uid not in ours or (writable and not above.st_mode & stat.S_ISVTX):
        return f"{folder} above it can be changed by others"
    if writable and entry.st_uid not in ours:
        kind = "a symbolic link" if stat.S_ISLNK(entry.st_mode) else "an entry"
        return f"{path} on the way to it is {kind} owned by uid {entry.st_uid}"
    return None


def _read_key(key_file: str, folder: str) -> bytes | str | None:
    """The key, None if there is none yet, or why the one there cannot be trusted."""
    if not os.path.lexists(key_file):
        return None
    ancestor = unsafe_ancestor(folder)
    if ancestor is not None:
        return f"the key file {key_file} cannot be trusted: {ancestor}"
    for path in (folder, key_file):
        why = untrusted_because(path)
        if why is not None:
            return f"{path} cannot be trusted: {why}"
    info = os.lstat(key_file)
    if info.st_mode & 0o077:
        return (
            f"the key file {key_file} is readable by others (mode {stat.S_IMODE(info.st_mode):o})"
        )
    with open_regular(key_file, follow=False) as stream:
        key = stream.read(_KEY_SIZE + 1)
    if len(key) != _KEY_SIZE:
        return f"the key file {key_file} is not a key ({len(key)} bytes)"
    return key


def _create_key(key_file: str, folder: str) -> bytes | str:
    why = untrusted_because(folder)
    if why is not None:
        return f"{folder} cannot be trusted: {why}"
    temporary = f"{key_file}.{os.getpid()}.{secrets.token_hex(4)}"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(secrets.token_bytes(_KEY_SIZE))
        # A link never replaces: when two runs race, both end up with the first key.
        with contextlib.suppress(FileExistsError):
            os.link(temporary, key_file)
    finally:
        with contextlib.suppress(OSError):
            os.remove(temporary)
    key = _read_key(key_file, folder)
    if key is None:
        return f"the key file {key_file} vanished"
    return key
