"""What reaches the installer's input: only validated, canonical values (issue 11 item 6)."""

from __future__ import annotations

import json

import pytest
from support.builders import installed

pytestmark = pytest.mark.slow


def _smuggling_lock(packages, index, name: str) -> str:
    # A name that, written as is into pip's requirements file, adds a line of its own:
    # alpha 2.0 (never fetched or verified by peep) with its own hash, which pip re-checks.
    epsilon = index.add_file("epsilon", packages["epsilon-1.0"], index="other")
    return f"""
lock-version = "1.0"
created-by = "tests"

[[packages]]
name = {json.dumps(name)}
[packages.archive]
url = "{epsilon}"
hashes = {{sha256 = "{packages.sha256("epsilon-1.0").hex}"}}
"""


@pytest.mark.parametrize("installer", ["pip", "uv"])
def test_a_lock_name_cannot_add_lines_to_the_installer_input(
    peep, venv, write, packages, index, installer
):
    alpha2 = packages["alpha-2.0"].resolve().as_uri()
    name = f"alpha @ {alpha2} {packages.pip('alpha-2.0')}\nepsilon"
    lock = write("pylock.toml", _smuggling_lock(packages, index, name))
    dry = peep.install(lock, "--no-cache", "--dry-run", "--installer", installer)
    assert dry.returncode == 2, dry.stdout + dry.stderr
    done = peep.install(lock, "--no-cache", "--installer", installer, check=2)
    assert f"{lock}: packages[0].name: " in done.stderr
    assert "is not a valid project name" in done.stderr
    assert "alpha" not in installed(venv)
    assert "epsilon" not in installed(venv)


@pytest.mark.parametrize(
    "name", ["epsilon\u2028alpha", "epsilon\x0c", "epsilon ", "-epsilon", "epsilon;x", ""]
)
def test_lock_names_must_be_project_names(peep, venv, write, packages, index, name):
    lock = write("pylock.toml", _smuggling_lock(packages, index, name))
    done = peep.install(lock, "--no-cache", "--dry-run", check=2)
    assert f"{lock}: packages[0].name: {name!r} is not a valid project name" in done.stderr


@pytest.mark.parametrize("field", ["name", "url"])
def test_lock_file_names_and_urls_have_no_line_breaks(peep, venv, write, packages, index, field):
    text = _smuggling_lock(packages, index, "epsilon")
    url = index.add_file("epsilon", packages["epsilon-1.0"], index="other")
    if field == "name":
        text = text.replace("[packages.archive]\n", '[packages.archive]\nname = "e\\nx.whl"\n')
    else:
        text = text.replace(f'url = "{url}"', f'url = "{url}\\u2028"')
    lock = write("pylock.toml", text)
    done = peep.install(lock, "--no-cache", "--dry-run", check=2)
    assert f"{lock}: packages[0].archive.{field}: " in done.stderr
