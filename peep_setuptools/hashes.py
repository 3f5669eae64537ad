"""Digests: peep's base64 and pip's hex spellings, and hashing streams without holding them."""

from __future__ import annotations

import base64
import binascii
import errno
import os
import re
import stat
from collections.abc import Iterable, Mapping, Sequence
from typing import BinaryIO, Literal, cast

from peep_setuptools.errors import PeepError
from peep_setuptools.frozen import frozen

Algorithm = Literal["sha256", "sha384", "sha512"]

#: Algorithms we accept, weakest first; md5 and sha1 are refused on purpose.
ALGORITHMS: tuple[Algorithm, ...] = ("sha256", "sha384", "sha512")
WEAK_ALGORITHMS = frozenset({"md5", "sha1", "sha224"})
_HEX_LENGTH: Mapping[str, int] = {"sha256": 64, "sha384": 96, "sha512": 128}
# text, compiled by ``re`` (and kept in its cache) on first use: only --hash values need it
_HEX = r"[0-9a-fA-F]+"
_B64 = re.compile(r"[A-Za-z0-9_-]+")
BLOCK_SIZE = 64 * 1024


class InvalidDigest(ValueError):
    """A digest string that is not well formed; parsers turn it into a user error."""


@frozen
class Digest:
    """One hash value, kept as lowercase hex; ``algorithm`` is one of ALGORITHMS."""

    algorithm: Algorithm
    hex: str

    @classmethod
    def from_hex(cls, algorithm: str, text: str) -> Digest:
        """Parse pip's ``sha256:HEX`` value (the part after the colon)."""
        algo = check_algorithm(algorithm)
        if len(text) != _HEX_LENGTH[algo] or not re.fullmatch(_HEX, text):
            raise InvalidDigest(
                f"{text!r} is not a {algo} hash: expected {_HEX_LENGTH[algo]} hex digits"
            )
        return cls(algo, text.lower())

    @classmethod
    def from_peep(cls, text: str) -> Digest:
        """Parse peep's urlsafe-base64 sha256 (43 characters, no ``=`` padding)."""
        stripped = text.rstrip("=")
        if len(stripped) != 43 or not _B64.fullmatch(stripped):
            raise InvalidDigest(
                f"{text!r} is not a sha256 hash: expected 43 urlsafe-base64 characters"
            )
        try:
            raw = base64.urlsafe_b64decode(stripped + "=")
        except binascii.Error as exc:
            raise InvalidDigest(f"{text!r} is not valid urlsafe base64") from exc
        # 43 characters carry 258 bits; a non-canonical last character would
        # decode to the same bytes, so insist on the one canonical spelling.
        if encode_b64(raw) != stripped:
            raise InvalidDigest(f"{text!r} is not a canonical sha256 hash in peep's format")
        return cls("sha256", raw.hex())

    @property
    def b64(self) -> str:
        """Urlsafe base64 without padding: peep's spelling."""
        return encode_b64(bytes.fromhex(self.hex))

    def peep_line(self) -> str:
        """Return ``# sha256: B64``; only sha256 has a peep spelling."""
        if self.algorithm != "sha256":
            raise ValueError("peep's comment format only carries sha256 hashes")
        return f"# sha256: {self.b64}"

    def pip_option(self) -> str:
        """Return ``--hash=ALGO:HEX``."""
        return f"--hash={self.algorithm}:{self.hex}"

    def display(self, style: Literal["peep", "pip"]) -> str:
        """The value as the requirements file spells it."""
        if style == "peep" and self.algorithm == "sha256":
            return self.b64
        return f"{self.algorithm}:{self.hex}"

    def matches(self, other: Digest) -> bool:
        """Compare in constant time; digests of different algorithms never match."""
        import hmac  # see MultiHasher

        return self.algorithm == other.algorithm and hmac.compare_digest(self.hex, other.hex)

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.hex}"


def encode_b64(raw: bytes) -> str:
    """Urlsafe base64 with the ``=`` padding stripped."""
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def check_algorithm(name: str) -> Algorithm:
    """Return the algorithm name if accepted, else raise InvalidDigest saying why."""
    lowered = name.lower()
    if lowered in _HEX_LENGTH:
        return cast(Algorithm, lowered)
    if lowered in WEAK_ALGORITHMS:
        raise InvalidDigest(f"{name} is too weak to pin an archive; use sha256 or stronger")
    raise InvalidDigest(f"unknown hash algorithm {name!r}; use sha256, sha384 or sha512")


class MultiHasher:
    """Feeds the same bytes to several hash objects; one pass over each archive."""

    def __init__(self, algorithms: Iterable[Algorithm] = ("sha256",)) -> None:
        # Imported here: hashlib loads OpenSSL's libcrypto (~2 ms), which a run that
        # hashes nothing (everything installed) never needs.
        import hashlib

        self._hashers = {algo: hashlib.new(algo) for algo in dict.fromkeys(algorithms)}
        self.size = 0

    def update(self, block: bytes | bytearray | memoryview) -> None:
        """Hash one more block; a memoryview of a reused buffer is hashed without a copy."""
        self.size += len(block)
        for hasher in self._hashers.values():
            hasher.update(block)

    def digests(self) -> dict[Algorithm, Digest]:
        """The digests of everything fed so far."""
        return {algo: Digest(algo, h.hexdigest()) for algo, h in self._hashers.items()}


def hash_stream(
    stream: BinaryIO, algorithms: Iterable[Algorithm] = ("sha256",)
) -> dict[Algorithm, Digest]:
    """Hash a binary stream in 64 KiB blocks; memory stays flat in the stream's size."""
    hasher = MultiHasher(algorithms)
    while block := stream.read(BLOCK_SIZE):
        hasher.update(block)
    return hasher.digests()


def hash_file(path: str, algorithms: Iterable[Algorithm] = ("sha256",)) -> dict[Algorithm, Digest]:
    """Hash a file on disk; raises OSError if it cannot be read or is no regular file."""
    with open_regular(path) as stream:
        return hash_stream(stream, algorithms)


def open_regular(path: str, *, follow: bool = True) -> BinaryIO:
    """Open ``path`` for reading if it is a regular file; raise OSError at once if not.

    THE opener of files peep reads whose type it did not make: opened as a file, a FIFO
    blocks for ever and a device such as /dev/zero never ends (a cache restored from another
    job, a file planted where ``peep verify`` looks, a ``file:`` URL). Neither is opened; one
    swapped in after the check is opened without blocking and refused. ``follow=False``
    refuses a symbolic link too. The error's ``strerror`` says why, for messages.
    """
    _regular(os.stat(path) if follow else os.lstat(path))
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags if follow else flags | getattr(os, "O_NOFOLLOW", 0))
    try:
        _regular(os.fstat(fd))
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _regular(info: os.stat_result) -> None:
    if stat.S_ISDIR(info.st_mode):
        raise OSError(errno.EISDIR, "it is a directory")
    if not stat.S_ISREG(info.st_mode):
        raise OSError(errno.EINVAL, "it is not a regular file")


def any_match(allowed: Iterable[Digest], actual: Mapping[Algorithm, Digest]) -> bool:
    """True if one allowed digest equals the archive's digest of the same algorithm."""
    return any(
        digest.algorithm in actual and digest.matches(actual[digest.algorithm])
        for digest in allowed
    )


def hash_files(paths: Sequence[str], *, style: Literal["peep", "pip"] = "peep") -> list[str]:
    """Return the hash line of each archive: ``# sha256: B64`` or ``--hash=sha256:HEX``."""
    lines = []
    for path in paths:
        try:
            digest = hash_file(path)["sha256"]
        except OSError as exc:
            raise PeepError(f"cannot hash {path}: {exc.strerror or exc}") from exc
        lines.append(digest.peep_line() if style == "peep" else digest.pip_option())
    return lines
