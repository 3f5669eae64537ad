"""Streaming an archive to disk, hashing every block on the way; memory stays flat."""

from __future__ import annotations

import contextlib
import os
import posixpath
import shutil
from collections.abc import Mapping, Sequence
from urllib.parse import unquote, urlsplit

from peep_setuptools.archives import Link, safe_filename
from peep_setuptools.errors import DownloadError
from peep_setuptools.frozen import frozen
from peep_setuptools.hashes import Algorithm, Digest, MultiHasher
from peep_setuptools.index.http import HttpClient
from peep_setuptools.urls import redact_url

#: bytes read from the network per step; larger blocks measured no faster (see ``_stream``)
STREAM_BLOCK = 256 * 1024


@frozen
class Fetched:
    """An archive on disk with the digests of exactly the bytes that were written."""

    path: str
    filename: str
    #: the URL asked for (not a redirect target, which may carry tokens), redacted
    url: str
    digests: Mapping[Algorithm, Digest]
    size: int


def fetch(
    link: Link,
    into: str,
    http: HttpClient,
    *,
    algorithms: Sequence[Algorithm] = ("sha256",),
) -> Fetched:
    """Download ``link`` to ``into/<link.filename>``; raises DownloadError.

    The name comes from the link alone, never from the server (Content-Disposition,
    redirect target). On failure nothing is left behind but ``into`` itself.
    """
    return fetch_url(link.url, link.filename, into, http, algorithms=algorithms)


def fetch_url(
    url: str,
    filename: str | None,
    into: str,
    http: HttpClient,
    *,
    algorithms: Sequence[Algorithm] = ("sha256",),
) -> Fetched:
    """Download ``url`` to ``into/<filename>`` (default: the URL's last path segment).

    Raises DownloadError if the name is not a plain archive basename, or on any
    network, length or disk failure.
    """
    if filename is None:
        filename = unquote(posixpath.basename(urlsplit(url).path))
    if safe_filename(filename) is None:
        raise DownloadError(
            f"could not fetch {redact_url(url)}: {filename!r} is not an archive file name"
        )
    try:
        os.makedirs(into, mode=0o700, exist_ok=True)
    except OSError as exc:
        raise DownloadError(f"cannot create download folder {into}: {exc.strerror}") from None
    final = os.path.join(into, filename)
    part = final + ".part"
    try:
        for attempt in http.attempts(url):
            hashes, failure = _stream(url, part, http, algorithms)
            if failure is None:
                break
            # The connection broke mid-body: start again, as for a failed request.
            if http.aborted:
                raise DownloadError(failure)
            if attempt == http.retries:
                raise DownloadError(http.gave_up(str(failure)))
        os.replace(part, final)
    except OSError as exc:
        _remove(part)
        raise DownloadError(
            f"could not save {redact_url(url)} to {final}: {exc.strerror or exc}"
        ) from None
    except BaseException:
        _remove(part)
        raise
    return Fetched(
        path=final,
        filename=filename,
        url=redact_url(url),
        digests=hashes.digests(),
        size=hashes.size,
    )


def quarantine(path: str, folder: str, digest: Digest) -> str:
    """Move a rejected archive into ``folder`` for forensics; return its new path.

    The new name ends in ``.mismatched`` so that neither a later run nor pip
    (``--find-links folder``) can take it for an archive. Raises DownloadError.
    """
    name = f"{os.path.basename(path)}.sha256-{digest.hex}.mismatched"
    target = os.path.join(folder, name)
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        shutil.move(path, target)
    except OSError as exc:
        raise DownloadError(
            f"could not move {path} to the quarantine folder {folder}: {exc.strerror or exc}"
        ) from None
    return target


def _stream(
    url: str, part: str, http: HttpClient, algorithms: Sequence[Algorithm]
) -> tuple[MultiHasher, DownloadError | None]:
    """Write the body to ``part``; a failure while reading is returned, others raised."""
    hashes = MultiHasher(algorithms)
    with http.open(url) as response, open(part, "wb") as out:
        # One buffer filled in place (readinto), hashed and written through memoryviews:
        # ``read(64 KiB)`` made a new bytes object and a Python round trip per block, about
        # a fifth of the time at loopback speed. No bigger than the body: zeroing a fresh
        # buffer much larger than a 20 kB file costs more than the file.
        buffer = bytearray(min(STREAM_BLOCK, response.length or STREAM_BLOCK))
        view = memoryview(buffer)
        try:
            while count := response.readinto(buffer):
                block = view[:count]
                hashes.update(block)
                out.write(block)
        except DownloadError as exc:
            return hashes, exc
        expected = response.length
    if expected is not None and hashes.size != expected:
        reason = f"received {hashes.size} of {expected} bytes"
        return hashes, DownloadError(f"could not fetch {redact_url(url)}: {reason}")
    return hashes, None


def _remove(path: str) -> None:
    with contextlib.suppress(OSError):
        os.remove(path)
