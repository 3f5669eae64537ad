"""Progress of the fetch phase: a live line on a terminal, one line per file elsewhere."""

from __future__ import annotations

import threading
import time
from typing import Protocol, TextIO


class Progress(Protocol):
    """Told about each archive as it is fetched or taken from the cache (from many threads)."""

    def begin(self, files: int) -> None:
        """The number of archives about to be fetched."""

    def advance(self, filename: str, size: int, source: str, *, cached: bool) -> None:
        """One archive is on disk and hashed; ``source`` is its URL or cache path."""

    def end(self) -> None:
        """Every archive is done (or the run failed)."""


class NoProgress:
    """Says nothing: the library default, and ``-q``."""

    def begin(self, files: int) -> None:
        """Ignore."""

    def advance(self, filename: str, size: int, source: str, *, cached: bool) -> None:
        """Ignore."""

    def end(self) -> None:
        """Ignore."""


def human_size(size: float) -> str:
    """``1.2 MB``-style sizes (decimal units, as pip and uv print them)."""
    for unit in ("bytes", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1000
    raise AssertionError("unreachable")  # pragma: no cover


class LineProgress:
    """One plain line per archive, for logs and pipes; ``verbose`` adds where it came from."""

    def __init__(self, stream: TextIO, *, verbose: bool = False) -> None:
        self._stream = stream
        self._verbose = verbose
        self._lock = threading.Lock()

    def begin(self, files: int) -> None:
        """Nothing to say before the first file."""

    def advance(self, filename: str, size: int, source: str, *, cached: bool) -> None:
        """Write ``Fetched NAME (SIZE)`` or ``Cached NAME (SIZE)``."""
        verb = "Cached" if cached else "Fetched"
        where = f" from {source}" if self._verbose else ""
        with self._lock:
            self._stream.write(f"{verb} {filename} ({human_size(size)}){where}\n")
            self._stream.flush()

    def end(self) -> None:
        """Nothing to say after the last file."""


class LiveProgress:
    """A single line, rewritten in place: ``Verifying: 12/40 files, 8.1 MB (3 cached)``."""

    #: redraw at most this often, so many small files do not flood a slow terminal
    INTERVAL = 0.1

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._lock = threading.Lock()
        self._total = 0
        self._done = 0
        self._cached = 0
        self._bytes = 0
        self._drawn = 0.0
        self._width = 0

    def begin(self, files: int) -> None:
        """Draw the empty line."""
        with self._lock:
            self._total = files
            self._draw(force=True)

    def advance(self, filename: str, size: int, source: str, *, cached: bool) -> None:
        """Count one more file and redraw."""
        with self._lock:
            self._done += 1
            self._bytes += size
            self._cached += cached
            self._draw(force=self._done == self._total)

    def end(self) -> None:
        """Leave the final line in place and move to the next."""
        with self._lock:
            if self._width:
                self._draw(force=True)
                self._stream.write("\n")
                self._stream.flush()
                self._width = 0

    def _draw(self, *, force: bool) -> None:
        now = time.monotonic()
        if not force and now - self._drawn < self.INTERVAL:
            return
        self._drawn = now
        cached = f" ({self._cached} cached)" if self._cached else ""
        text = f"Verifying: {self._done}/{self._total} files, {human_size(self._bytes)}{cached}"
        # Pad over a longer previous line instead of relying on terminal escape codes.
        padding = " " * max(self._width - len(text), 0)
        self._stream.write(f"\r{text}{padding}")
        self._stream.flush()
        self._width = len(text)
