"""An open HTTP response or local file: bounded, counted reads and the errors they raise."""

from __future__ import annotations

import contextlib
import email.message
import http.client
import mimetypes
import os
import socket
import ssl
from types import TracebackType
from typing import BinaryIO, Callable, TypeVar

from peep_setuptools.errors import DownloadError
from peep_setuptools.hashes import open_regular
from peep_setuptools.urls import file_url_path, redact_url

# Small error bodies are read to the end so that the connection can be reused.
_DRAIN_LIMIT = 64 * 1024


_Self = TypeVar("_Self", bound="Closing")


class Closing:
    """``with`` closes it: the context manager of responses and clients."""

    def close(self) -> None:
        """Release what the object holds."""
        raise NotImplementedError

    def __enter__(self: _Self) -> _Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class Response(Closing):
    """An open response body; read it in blocks, then close it (or use ``with``)."""

    def __init__(
        self,
        *,
        url: str,
        status: int,
        reason: str,
        headers: email.message.Message,
        body: BinaryIO | http.client.HTTPResponse,
        timeout: float,
        release: Callable[[bool], None] | None = None,
    ) -> None:
        #: the final URL, after redirects
        self.url = url
        self.status = status
        self.reason = reason
        self.headers = headers
        self._body = body
        self._timeout = timeout
        self._release = release
        self._received = 0
        self._eof = False
        self._closed = False
        self.length: int | None = _content_length(headers)

    def read(self, n: int = -1) -> bytes:
        """Read up to ``n`` bytes (all if negative); b"" at the end; DownloadError on failure."""
        self._check_open()
        if self._eof or n == 0:
            return b""
        try:
            data = self._read_raw(n)
        except (OSError, http.client.HTTPException) as exc:
            raise self._read_error(exc) from None
        self._count(len(data), at_end=not data or n < 0)
        return data

    def readinto(self, buffer: bytearray | memoryview) -> int:
        """Fill ``buffer`` as far as the body goes; return the byte count, 0 at the end.

        For large bodies: one reusable buffer, no new bytes object per block. Raises
        DownloadError on failure, as ``read`` does.
        """
        self._check_open()
        if self._eof or not len(buffer):
            return 0
        body = self._body
        try:
            if isinstance(body, http.client.HTTPResponse):
                count = body.readinto(buffer)
            else:
                data = body.read(len(buffer))
                count = len(data)
                buffer[:count] = data
        except (OSError, http.client.HTTPException) as exc:
            raise self._read_error(exc) from None
        self._count(count, at_end=not count)
        return count

    def _check_open(self) -> None:
        if self._closed:
            raise ValueError("read from a closed response")

    def _read_error(self, exc: BaseException) -> DownloadError:
        if isinstance(exc, socket.timeout):
            return self._error(f"timed out after {self._timeout:g} s while reading")
        if isinstance(exc, ssl.SSLError):
            return self._error(f"TLS error while reading: {exc.reason or exc}")
        return self._error(f"connection lost while reading: {describe_error(exc)}")

    def _count(self, count: int, *, at_end: bool) -> None:
        """Add ``count`` bytes read; check them against Content-Length."""
        self._received += count
        if self.length is not None and self._received > self.length:
            raise self._error(f"received more than the {self.length} bytes announced")
        if at_end:
            self._eof = True
            if self.length is not None and self._received < self.length:
                raise self._error(f"received {self._received} of {self.length} bytes")

    def _read_raw(self, n: int) -> bytes:
        body = self._body
        if isinstance(body, http.client.HTTPResponse) and n < 0:
            # read() without a size raises IncompleteRead on a short body; read in
            # blocks instead so that the count check below reports it uniformly.
            chunks = []
            while block := body.read(64 * 1024):
                chunks.append(block)
            return b"".join(chunks)
        return body.read(n)

    @property
    def received(self) -> int:
        """Bytes of body read so far."""
        return self._received

    def _error(self, reason: str) -> DownloadError:
        self.close()
        return DownloadError(f"could not fetch {redact_url(self.url)}: {reason}")

    def close(self) -> None:
        """Release the connection: back to the pool if the body was read to its end."""
        if self._closed:
            return
        self._closed = True
        body = self._body
        reusable = (
            isinstance(body, http.client.HTTPResponse)
            and body.isclosed()
            and not body.will_close
            and (self.length is None or self._received == self.length)
        )
        body.close()
        if self._release is not None:
            self._release(reusable)

    def discard(self) -> None:
        """Drop the body, reading a small one to the end so the connection stays usable."""
        if self._closed:
            return
        if self.length is not None and self.length <= _DRAIN_LIMIT:
            try:
                while self.read(_DRAIN_LIMIT):
                    pass
            except DownloadError:
                return
        self.close()


def _content_length(headers: email.message.Message) -> int | None:
    value = headers.get("Content-Length")
    if value is None or headers.get("Transfer-Encoding"):
        return None
    try:
        length = int(value.strip())
    except ValueError:
        return None
    return length if length >= 0 else None


def describe_error(exc: BaseException) -> str:
    """A network or file error as one short lower-case clause, for messages."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"certificate verify failed: {exc.verify_message}"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve host name ({exc.strerror})"
    if isinstance(exc, http.client.RemoteDisconnected):
        return "server closed the connection without a response"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror[0].lower() + exc.strerror[1:]
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0] if text.strip() else type(exc).__name__


def open_file(url: str) -> Response:
    """Open a local ``file:`` URL as a response; raises DownloadError."""
    try:
        path = file_url_path(url)
    except ValueError:
        raise DownloadError(f"could not open {url}: file URLs must name a local path") from None
    try:
        stream = open_regular(path)  # closed by Response.close
    except OSError as exc:
        raise DownloadError(f"could not open {url}: {describe_error(exc)}") from None
    headers = http.client.HTTPMessage()
    with contextlib.suppress(OSError):
        headers["Content-Length"] = str(os.fstat(stream.fileno()).st_size)
    content_type, _ = mimetypes.guess_type(path)
    if content_type:
        headers["Content-Type"] = content_type
    return Response(url=url, status=200, reason="OK", headers=headers, body=stream, timeout=0.0)
