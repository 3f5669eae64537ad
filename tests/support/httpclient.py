"""Settings for the tests' own HttpClient against the loopback index."""

from __future__ import annotations

from pathlib import Path

from peep_setuptools.index.httpsettings import HttpSettings


def http_settings(tmp_path: Path, **overrides: object) -> HttpSettings:
    """A short timeout, 2 retries, a fast backoff, no proxies, no netrc; ``overrides`` win."""
    values: dict[str, object] = {
        "timeout": 2.0,
        "retries": 2,
        "backoff": 0.01,
        "proxies": {},
        "netrc_path": str(tmp_path / "no-netrc"),
    }
    values.update(overrides)
    return HttpSettings(**values)  # type: ignore[arg-type]
