"""Where each named distribution is installed in the target: its files, as it lists them.

Apart from ``installed`` (``peep verify``'s comparison, with the wheel readers it needs)
because the installers' last step asks only this, and a warm install need not load the rest.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from packaging.utils import NormalizedName, canonicalize_name

from peep_setuptools.errors import TargetError
from peep_setuptools.frozen import frozen
from peep_setuptools.probing import SITE_DIRS
from peep_setuptools.target import run_script

# Runs in the target interpreter with -I -S (no .pth file runs to answer for it), stdlib only:
# where each named distribution lives, in the site folders (SITE_DIRS) it imports from.
_PROBE = (
    SITE_DIRS
    + r"""
import importlib.metadata as md, json
wanted = set(json.loads(sys.argv[1]))
def canon(name):
    import re
    return re.sub(r"[-_.]+", "-", name).lower()
def scheme_path(kind, base):
    if base == user_site:
        return sysconfig.get_path(kind, os.name + "_user")
    if base not in venv_paths:
        return sysconfig.get_path(kind)
    return sysconfig.get_path(kind, scheme, where)
found = {}
for dist in md.distributions(path=paths):
    name = canon(dist.metadata["Name"] or "")
    if name in wanted and name not in found:
        found[name] = {
            "version": dist.version,
            "base": str(dist.locate_file("")),
            "files": [str(f) for f in (dist.files or [])],
            "scripts": scheme_path("scripts", str(dist.locate_file(""))),
            "data": scheme_path("data", str(dist.locate_file(""))),
        }
print(json.dumps(found))
"""
)


@frozen
class InstalledDist:
    """A distribution as the target interpreter reports it."""

    name: NormalizedName
    version: str
    #: the directory RECORD paths are relative to (site-packages)
    base: str
    #: the paths the installed RECORD lists, relative to ``base``
    files: tuple[str, ...]
    #: where an installer writes this distribution's launchers
    scripts: str = ""
    #: where an installer writes the files of a wheel's ``.data/data`` folder
    data: str = ""


def probe_installed(
    python: str, names: Iterable[NormalizedName]
) -> dict[NormalizedName, InstalledDist]:
    """Ask ``python`` where each named distribution is installed; raises TargetError."""
    wanted = sorted(set(names))
    done = run_script(python, _PROBE, json.dumps(wanted), isolated=True)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise TargetError(f"cannot list the installed files of {python}: {last}")
    try:
        data = json.loads(done.stdout)
        return {
            canonicalize_name(name): InstalledDist(
                canonicalize_name(name),
                str(info["version"]),
                str(info["base"]),
                tuple(str(f) for f in info["files"]),
                str(info["scripts"]),
                str(info["data"]),
            )
            for name, info in data.items()
        }
    except (ValueError, KeyError, TypeError) as exc:
        raise TargetError(f"cannot understand what {python} reports about its files") from exc
