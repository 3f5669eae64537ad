"""What the environment records about where each distribution came from (PEP 610).

The installer is only ever given local, verified files, so it records their temporary
``file://`` URL in ``direct_url.json`` (``pip freeze``: ``name @ file:///tmp/peep-...``). After
it succeeds, each such record is replaced by what the requirements said: the requirement's
URL, or no ``direct_url.json`` at all for a pinned index requirement (``name==version``).
RECORD is updated with it, so that uninstalling and ``peep verify`` still see every file.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import logging
import os
from collections.abc import Mapping, Sequence

from packaging.utils import NormalizedName, canonicalize_name

from peep_setuptools.atomic import replace_file
from peep_setuptools.checks.located import InstalledDist
from peep_setuptools.installing.handoff import Origin

logger = logging.getLogger(__name__)

_DIRECT_URL = "direct_url.json"


def record_origins(
    found: Mapping[NormalizedName, InstalledDist], origins: Sequence[Origin]
) -> None:
    """Replace the temporary URLs the installer recorded with the requirements' own.

    ``found`` is what the target reports of the installed distributions. The install has
    succeeded by then: what cannot be fixed is a warning, not a failure.
    """
    for origin in origins:
        try:
            _record(origin, found.get(canonicalize_name(origin.name)))
        except (OSError, csv.Error, ValueError) as exc:
            logger.warning(
                "Warning: cannot record where %s came from (pip freeze shows the temporary "
                "file it was installed from): %s",
                origin.name,
                exc,
            )


def _record(origin: Origin, dist: InstalledDist | None) -> None:
    files = dist.files if dist is not None else ()
    record = next((f for f in files if f.endswith(".dist-info/RECORD")), None)
    if dist is None or record is None:
        raise ValueError("it is not found among the installed distributions")
    info_dir = record.rsplit("/", 1)[0]
    path = os.path.join(dist.base, info_dir, _DIRECT_URL)
    if _recorded_url(path) != origin.local_url:
        return  # not the copy we handed over: leave it as it is
    content = _direct_url(origin)
    _rewrite(path, content)
    _update_record(os.path.join(dist.base, record), f"{info_dir}/{_DIRECT_URL}", content)


def _recorded_url(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as stream:
            data = json.load(stream)
    except (OSError, ValueError):
        return None
    url = data.get("url") if isinstance(data, dict) else None
    return url if isinstance(url, str) else None


def _direct_url(origin: Origin) -> bytes | None:
    """The new direct_url.json, or None to have none (an index requirement)."""
    if origin.url is None:
        return None
    info: dict[str, object] = {}
    if origin.digest is not None:
        info = {
            "hash": f"{origin.digest.algorithm}={origin.digest.hex}",
            "hashes": {origin.digest.algorithm: origin.digest.hex},
        }
    return json.dumps({"url": origin.url, "archive_info": info}, sort_keys=True).encode()


def _rewrite(path: str, content: bytes | None) -> None:
    if content is None:
        os.unlink(path)
        return
    # A new temporary file (O_EXCL) and one rename: nothing already there is followed.
    replace_file(path, lambda stream: stream.write(content), durable=False)


def _update_record(record: str, entry: str, content: bytes | None) -> None:
    """Drop or re-hash ``entry``'s row in RECORD (CSV: path, sha256=urlsafe-b64, size)."""
    with open(record, encoding="utf-8", newline="") as stream:
        rows = [row for row in csv.reader(stream) if row]
    kept = [row for row in rows if row[0] != entry]
    if content is not None:
        digest = base64.urlsafe_b64encode(hashlib.sha256(content).digest()).rstrip(b"=").decode()
        at = next((i for i, row in enumerate(rows) if row[0] == entry), len(kept))
        kept.insert(at, [entry, f"sha256={digest}", str(len(content))])
    out = io.StringIO()
    csv.writer(out).writerows(kept)  # as pip writes RECORD: "\r\n" after each row
    replace_file(record, lambda stream: stream.write(out.getvalue().encode()), durable=False)
