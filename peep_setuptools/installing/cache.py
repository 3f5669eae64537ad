"""A verified, content-addressed archive cache: files named by sha256, re-hashed on every read.

Layout under the cache root (``~/.cache/peep-setuptools`` by XDG rules)::

    archives/ab/abcdef.../<filename>      an archive whose sha256 matched a pinned hash
    archives/ab/abcdef.../entry.json      {"filename", "sha256", "requires_python"}
    built/ab/abcdef.../<tag>/<wheel>      a wheel we built from the verified sdist abcdef...
    built/ab/abcdef.../<tag>/entry.json   {"filename", "sha256", "builder", "seal"}
    tmp/                                  where files are written before os.replace
    links/<key>/<wheel>                   hard links uv is handed cached wheels by (uvlinks.py)

The cache is a speed-up, never a source of trust: every file taken from it is copied into
the run's private workdir while being hashed again (or, for a reader that hashes it again
itself, linked there and hashed: files here are replaced whole, never written in place), and
it is used only if that copy has the hash the entry is named by (archives, whose hashes the
requirement pins) or recorded under this user's seal (built wheels; see cachetrust.py). A
tampered file is dropped with a warning and fetched (or built) again. A cache root or entry
that another user owns, or that group or others can write, is not used at all. Writes are
atomic (temp file + ``os.replace``, entry.json last), so concurrent runs and crashes never
leave a half file under a final name. A cache that cannot be written (read-only, full) turns
itself off for the run, with one warning; installs go on without it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import BinaryIO

from peep_setuptools.archives import is_wheel, safe_filename
from peep_setuptools.atomic import link_file, replace_file
from peep_setuptools.frozen import frozen
from peep_setuptools.hashes import BLOCK_SIZE, Algorithm, Digest, MultiHasher, open_regular
from peep_setuptools.installing.cachetrust import (
    Sealer,
    load_sealer,
    make_parents,
    make_private_dirs,
    unsafe_ancestor,
    untrusted_because,
)

logger = logging.getLogger(__name__)

CACHE_ENV = "PEEP_CACHE_DIR"
_ENTRY = "entry.json"
#: every file the cache writes: others may read it, only we may change it
_FILE_MODE = 0o644


def default_cache_dir(environ: Mapping[str, str]) -> str:
    """``$PEEP_CACHE_DIR``, else ``$XDG_CACHE_HOME/peep-setuptools``, else ``~/.cache/...``."""
    explicit = environ.get(CACHE_ENV, "").strip()
    if explicit:
        return os.path.abspath(os.path.expanduser(explicit))
    xdg = environ.get("XDG_CACHE_HOME", "").strip()
    # XDG: a relative XDG_CACHE_HOME is invalid and must be ignored.
    base = xdg if xdg and os.path.isabs(xdg) else os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "peep-setuptools")


@frozen
class CachedArchive:
    """An entry of the archive cache; nothing about it is trusted until it is re-hashed."""

    path: str
    filename: str
    #: the sha256 the entry is named by, which the copy must have
    digest: Digest
    requires_python: str | None


@frozen
class Copied:
    """A cache file handed out (copied, linked or in place), with the digests of its bytes."""

    path: str
    filename: str
    digests: Mapping[Algorithm, Digest]
    size: int
    #: where it was copied from, for ``-v``
    source: str


def open_cache(root: str, key_file: str) -> ArchiveCache | None:
    """The cache at ``root`` (created 0700 if missing); None, with one warning, if it is not ours.

    Not ours: owned by another user, writable by group or others, under a folder that others
    can change (as the key file, ``cachetrust.unsafe_ancestor``), or it cannot be made.
    ``key_file`` holds the key that seals built wheels.
    """
    try:
        make_parents(root)
        with contextlib.suppress(FileExistsError):
            os.mkdir(root, 0o700)
    except OSError as exc:
        logger.warning(
            "Warning: cannot write to the cache at %s (%s); continuing without caching.",
            root,
            exc.strerror or exc,
        )
        return None
    # Whoever can rename a folder above the root can swap the whole cache for theirs.
    why = untrusted_because(root, follow=True) or unsafe_ancestor(root)
    if why is not None:
        logger.warning("Warning: not using the cache at %s: %s; continuing without it.", root, why)
        return None
    return ArchiveCache(root, key_file=key_file)


class ArchiveCache:
    """The cache at ``root``; safe to share between threads and between processes.

    Use ``open_cache``, which checks that the root is ours; entries are checked as they are
    read. Without ``key_file``, wheels built from sdists are neither reused nor kept.
    """

    def __init__(self, root: str, *, key_file: str | None = None) -> None:
        self.root = root
        self._writable = True
        self._lock = threading.Lock()
        self._key_file = key_file
        self._sealer: Sealer | str | None = None
        #: folders found to be ours alone, and paths already warned about
        self._trusted: set[str] = set()
        #: folders made (or found) by this run's writes
        self._made: set[str] = set()
        self._warned: set[str] = set()

    # -- archives -------------------------------------------------------------------------

    def lookup(self, digests: Iterable[Digest]) -> list[CachedArchive]:
        """The entries for those of ``digests`` that are sha256 and in the cache."""
        found = []
        for digest in dict.fromkeys(digests):
            if digest.algorithm != "sha256":
                continue
            folder = self._archive_dir(digest.hex)
            entry = self._read_trusted_entry(folder)
            if entry is None:
                continue
            filename = safe_filename(str(entry.get("filename", "")))
            if filename is None or entry.get("sha256") != digest.hex:
                continue
            path = os.path.join(folder, filename)
            if self._is_trusted_file(path):
                requires = entry.get("requires_python")
                found.append(
                    CachedArchive(path, filename, digest, str(requires) if requires else None)
                )
        return found

    def take(
        self,
        entry: CachedArchive,
        into: str,
        *,
        algorithms: Sequence[Algorithm] = ("sha256",),
        in_place: bool = False,
        link: bool = False,
    ) -> Copied | None:
        """Copy ``entry`` to ``into/<filename>``, hashing it; None (entry dropped) if it is bad.

        For a reader that checks the hash again itself (``--require-hashes``), no bytes are
        copied: ``link`` makes the private name a hard link to the file hashed (a copy
        across file systems), which stays that file whatever the cache path names later;
        ``in_place`` hashes the cache file and hands out its own path: uv recognises a local
        file it has unpacked before only by its path and mtime.
        """
        dest = None if in_place else os.path.join(into, entry.filename)
        if dest is not None and link and _private_link(entry.path, dest):
            copied = _copy_hashing(dest, None, algorithms)
        else:
            copied = _copy_hashing(entry.path, dest, algorithms)
        if copied is None:
            _discard(dest)
            return None
        digests, size = copied
        if not digests["sha256"].matches(entry.digest):
            self._drop(os.path.dirname(entry.path), entry.path)
            _discard(dest)
            return None
        return Copied(dest or entry.path, entry.filename, digests, size, entry.path)

    def store(
        self,
        path: str,
        digest: Digest,
        *,
        requires_python: str | None = None,
        link: bool = False,
    ) -> str | None:
        """Keep a verified archive under its sha256; return the stored file's path, or None.

        ``link`` stores the file itself under a second name instead of a copy of it (where
        the file system allows): for a run that hands out the cache's file anyway (uv).
        A failure turns the cache off, with one warning.
        """
        if digest.algorithm != "sha256" or not self._writable:
            return None
        filename = os.path.basename(path)
        folder = self._archive_dir(digest.hex)
        entry = {"filename": filename, "sha256": digest.hex, "requires_python": requires_python}
        stored = self._put(folder, path, filename, entry, link=link)
        return os.path.join(folder, filename) if stored else None

    def own_folder(self, *parts: str) -> str | None:
        """``root/parts...``, made if missing; None unless only we can write it (or no cache)."""
        if not self._writable:
            return None
        try:
            folder = make_private_dirs(self.root, *parts, made=self._made)
        except OSError:
            return None
        return folder if self._is_trusted_dir(folder) else None

    # -- wheels built from verified sdists ------------------------------------------------

    def built_wheel(self, sdist: Digest, tag: str, builder: str) -> CachedArchive | None:
        """The wheel ``builder`` built earlier for ``tag`` from this sdist, if sealed by us."""
        folder = self._built_dir(sdist, tag)
        entry = self._read_trusted_entry(folder)
        if entry is None:
            return None
        sealer = self._load_sealer()
        filename = safe_filename(str(entry.get("filename", "")))
        try:
            digest = Digest.from_hex("sha256", str(entry.get("sha256", "")))
        except ValueError:
            return None
        if sealer is None or filename is None or not is_wheel(filename):
            return None
        fields = {"sdist": sdist.hex, "tag": tag, "builder": builder}
        if not sealer.check(entry.get("seal"), filename=filename, wheel=digest.hex, **fields):
            self._warn_once(
                folder,
                "Warning: the wheel cached in %s is not sealed as built by you from this "
                "sdist for this interpreter; building the sdist again.",
                folder,
            )
            return None
        path = os.path.join(folder, filename)
        trusted = self._is_trusted_file(path)
        return CachedArchive(path, filename, digest, None) if trusted else None

    def store_built_wheel(
        self,
        sdist: Digest,
        tag: str,
        builder: str,
        wheel: str,
        digest: Digest,
        *,
        link: bool = False,
    ) -> str | None:
        """Keep a wheel ``builder`` built from a verified sdist, sealed with its hash.

        Return the stored file's path, or None; ``link`` as for ``store``.
        """
        sealer = self._load_sealer()
        if sdist.algorithm != "sha256" or not self._writable or sealer is None:
            return None
        filename = os.path.basename(wheel)
        seal = sealer.seal(
            sdist=sdist.hex, tag=tag, builder=builder, filename=filename, wheel=digest.hex
        )
        entry = {"filename": filename, "sha256": digest.hex, "builder": builder, "seal": seal}
        folder = self._built_dir(sdist, tag)
        stored = self._put(folder, wheel, filename, entry, link=link)
        return os.path.join(folder, filename) if stored else None

    # -- internals ------------------------------------------------------------------------

    def _archive_dir(self, hex_digest: str) -> str:
        return os.path.join(self.root, "archives", hex_digest[:2], hex_digest)

    def _built_dir(self, sdist: Digest, tag: str) -> str:
        return os.path.join(self.root, "built", sdist.hex[:2], sdist.hex, _safe_tag(tag))

    def _put(
        self,
        folder: str,
        source: str,
        filename: str,
        entry: Mapping[str, object],
        *,
        link: bool = False,
    ) -> bool:
        try:
            tmp_root = make_private_dirs(self.root, "tmp", made=self._made)
            parts = os.path.relpath(folder, self.root).split(os.sep)
            make_private_dirs(self.root, *parts, made=self._made)
            if not (self._is_trusted_dir(tmp_root) and self._is_trusted_dir(folder)):
                return False  # not ours to write to (and already warned about)
            # The archive first, entry.json last: an entry only ever names a whole file.
            final = os.path.join(folder, filename)
            if not (link and _linked(source, final, tmp_root)):
                _atomic_copy(source, final, tmp_root)
            _atomic_write(os.path.join(folder, _ENTRY), json.dumps(entry).encode(), tmp_root)
        except OSError as exc:
            self._disable(exc)
            return False
        return True

    def _read_trusted_entry(self, folder: str) -> dict[str, object] | None:
        """The entry.json in ``folder``, if there is one that only we can have written."""
        path = os.path.join(folder, _ENTRY)
        if not os.path.lexists(path):  # a plain miss: nothing to warn about
            return None
        if not (self._is_trusted_dir(folder) and self._is_trusted_file(path)):
            return None
        return _read_entry(folder)

    def _is_trusted_dir(self, folder: str) -> bool:
        """``folder`` and every folder between it and the root are ours alone."""
        path = self.root
        for part in os.path.relpath(folder, self.root).split(os.sep):
            path = os.path.join(path, part)
            if path in self._trusted:
                continue
            if not self._is_trusted_file(path):
                return False
            self._trusted.add(path)
        return True

    def _is_trusted_file(self, path: str) -> bool:
        if not os.path.lexists(path):  # a half-removed entry: a plain miss
            return False
        why = untrusted_because(path)
        if why is None:
            return True
        self._warn_once(path, "Warning: not using the cache entry %s: %s.", path, why)
        return False

    def _load_sealer(self) -> Sealer | None:
        with self._lock:
            if self._sealer is None:
                self._sealer = (
                    load_sealer(self._key_file, self.root)
                    if self._key_file is not None
                    else "no key file"
                )
            sealer = self._sealer
        if isinstance(sealer, str):
            self._warn_once(
                "sealer",
                "Warning: wheels built from sdists are neither reused nor cached: %s.",
                sealer,
            )
            return None
        return sealer

    def _warn_once(self, key: str, message: str, *args: object) -> None:
        with self._lock:
            if key in self._warned:
                return
            self._warned.add(key)
        logger.warning(message, *args)

    def _drop(self, folder: str, path: str) -> None:
        logger.warning(
            "Warning: the cached file %s does not have the hash it is stored under; "
            "it was removed and will be downloaded again.",
            path,
        )
        for name in (_ENTRY, os.path.basename(path)):
            with contextlib.suppress(OSError):
                os.remove(os.path.join(folder, name))

    def _disable(self, exc: OSError) -> None:
        with self._lock:
            if not self._writable:
                return
            self._writable = False
        logger.warning(
            "Warning: cannot write to the cache at %s (%s); continuing without caching.",
            self.root,
            exc.strerror or exc,
        )


def _safe_tag(tag: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in tag) or "none"


def _read_entry(folder: str) -> dict[str, object] | None:
    try:
        with open_regular(os.path.join(folder, _ENTRY), follow=False) as stream:
            data = json.loads(stream.read(64 * 1024))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _private_link(source: str, dest: str) -> bool:
    """Make ``dest`` (in a folder of ours) a second name of the file at ``source``, if we can.

    A symbolic link at ``source`` is linked as itself, and refused when ``dest`` is read.
    """
    try:
        os.makedirs(os.path.dirname(dest), mode=0o700, exist_ok=True)
        os.link(source, dest, follow_symlinks=False)
    except OSError:  # another file system, no hard links there, gone: the caller copies
        return False
    return True


def _copy_hashing(
    source: str, dest: str | None, algorithms: Sequence[Algorithm]
) -> tuple[dict[Algorithm, Digest], int] | None:
    """Copy (unless ``dest`` is None) and hash in one pass: what is used is what was hashed."""
    hasher = MultiHasher(("sha256", *algorithms))
    try:
        if dest is not None:
            os.makedirs(os.path.dirname(dest), mode=0o700, exist_ok=True)
        # Not a FIFO or a device (a cache restored from elsewhere), nor a link swapped in.
        with open_regular(source, follow=False) as src, open(dest or os.devnull, "wb") as out:
            while block := src.read(BLOCK_SIZE):
                hasher.update(block)
                if dest is not None:
                    out.write(block)
    except OSError as exc:
        logger.debug("Cannot read the cached file %s: %s", source, exc.strerror or exc)
        _discard(dest)
        return None
    return hasher.digests(), hasher.size


def _atomic_copy(source: str, final: str, tmp_root: str) -> None:
    def copy(out: BinaryIO) -> None:
        with open(source, "rb") as src:
            shutil.copyfileobj(src, out, BLOCK_SIZE)

    # Not synced: a cache entry lost in a crash is checked again and refetched.
    replace_file(final, copy, temp_dir=tmp_root, mode=_FILE_MODE, durable=False)


def _linked(source: str, final: str, tmp_root: str) -> bool:
    """Store ``source`` itself as ``final`` (a hard link: no second write of its bytes)."""
    try:
        link_file(source, final, temp_dir=tmp_root, mode=_FILE_MODE)
    except OSError:  # another file system, or no hard links there: the caller copies
        return False
    return True


def _atomic_write(final: str, data: bytes, tmp_root: str) -> None:
    replace_file(
        final, lambda out: out.write(data), temp_dir=tmp_root, mode=_FILE_MODE, durable=False
    )


def _discard(copy: str | None) -> None:
    """Remove a half-made or refused copy, if there is one (gone already: nothing to do)."""
    if copy is not None:
        with contextlib.suppress(OSError):
            os.remove(copy)
