"""The RECORD of a wheel or an installed distribution: its files and their hashes."""

from __future__ import annotations

import base64
import binascii
import csv
import io
from collections.abc import Callable, Sequence
from hashlib import sha256

from peep_setuptools.frozen import frozen
from peep_setuptools.hashes import Digest, InvalidDigest


@frozen
class RecordEntry:
    """One line of a RECORD file."""

    path: str
    digest: Digest | None
    size: int | None


def parse_record(text: str) -> tuple[RecordEntry, ...]:
    """Parse a RECORD (CSV: path, ``algo=urlsafe-b64``, size); bad hashes become None."""
    entries = []
    for row in csv.reader(io.StringIO(text)):
        if not row or not row[0]:
            continue
        digest = _record_digest(row[1]) if len(row) > 1 else None
        size = int(row[2]) if len(row) > 2 and row[2].isdigit() else None
        entries.append(RecordEntry(row[0], digest, size))
    return tuple(entries)


def _record_digest(value: str) -> Digest | None:
    algorithm, equals, encoded = value.partition("=")
    if not equals:
        return None
    try:
        raw = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        return Digest.from_hex(algorithm, raw.hex())
    except (binascii.Error, ValueError, InvalidDigest):
        return None


#: RECORD lines that carry no hash by design: the RECORD itself and its signatures.
_UNHASHED = ("/RECORD", "/RECORD.jws", "/RECORD.p7s")


def with_member_hashes(
    record: Sequence[RecordEntry], read: Callable[[str], bytes]
) -> tuple[RecordEntry, ...]:
    """``record`` with a sha256 of each member it names without a hash, read with ``read``.

    A verified wheel's member is what the installer copies, so an entry without a hash is
    still compared (and not taken for an added file). ``read`` raises ArchiveReadError for
    absent members; those entries are kept as they are.
    """
    entries = []
    for entry in record:
        if entry.digest is None and not entry.path.endswith(_UNHASHED):
            try:
                data = read(entry.path)
            except Exception:
                entries.append(entry)
                continue
            entry = RecordEntry(
                entry.path, Digest.from_hex("sha256", sha256(data).hexdigest()), len(data)
            )
        entries.append(entry)
    return tuple(entries)
