""".ci/run installs pinned, hash-checked tools, so the suite gives the same answer next year."""

from __future__ import annotations

import re
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[2]
CI = REPO / ".ci"


def _requirements(path: Path) -> list[tuple[Requirement, list[str]]]:
    """Each requirement of a pip requirements file (continuations joined) and its hashes."""
    text = re.sub(r"\\\n", " ", path.read_text(encoding="utf-8"))
    found = []
    for line in text.splitlines():
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        hashes = re.findall(r"--hash=(sha256:[0-9a-f]{64})", line)
        found.append((Requirement(re.sub(r"\s*--hash=\S+", "", line)), hashes))
    return found


def test_every_tool_is_pinned_with_hashes():
    for req, hashes in _requirements(CI / "requirements.txt"):
        (spec,) = req.specifier
        assert spec.operator == "==", req
        assert hashes, f"{req} has no hash"


def test_the_pins_are_those_requirements_in_asks_for():
    locked = _requirements(CI / "requirements.txt")
    names = {canonicalize_name(req.name) for req, _ in locked}
    for wanted, _ in _requirements(CI / "requirements.in"):
        assert canonicalize_name(wanted.name) in names, f"{wanted} is not in requirements.txt"
        if str(wanted.specifier):
            assert any(
                canonicalize_name(req.name) == canonicalize_name(wanted.name)
                and req.specifier == wanted.specifier
                for req, _ in locked
            ), f"requirements.txt does not pin {wanted}: run the command in its header"


def test_ci_installs_them_with_require_hashes_and_runs_the_lint_gates():
    script = (CI / "run").read_text(encoding="utf-8")
    assert "pip install --quiet --require-hashes -r .ci/requirements.txt" in script
    assert "--no-deps --no-build-isolation --editable ." in script
    assert "ruff check ." in script and "/mypy" in script


def test_readme_gives_the_command_ci_runs():
    readme = (REPO / "README.rst").read_text(encoding="utf-8")
    assert "\n    bash .ci/run\n" in readme


def test_the_test_index_serves_everything_its_build_backend_needs():
    """setuptools, wheel and packaging from the wheelhouse, each dependency among them."""
    import email
    import zipfile

    from packaging.version import Version
    from support.wheelhouse import BUILD_DEPENDENCIES, load_wheelhouse

    wheelhouse = load_wheelhouse()
    served = {
        project: Version(wheelhouse.newest(project).name.split("-")[1])
        for project in BUILD_DEPENDENCIES
    }
    for project in BUILD_DEPENDENCIES:
        wheel = wheelhouse.newest(project)
        with zipfile.ZipFile(wheel) as archive:
            (name,) = (
                n for n in archive.namelist() if re.fullmatch(r"[^/]+\.dist-info/METADATA", n)
            )
            metadata = email.message_from_bytes(archive.read(name))
        for text in metadata.get_all("Requires-Dist") or ():
            req = Requirement(text)
            if req.marker is not None and not req.marker.evaluate({"extra": ""}):
                continue
            needed = canonicalize_name(req.name)
            assert needed in served, f"{wheel.name} needs {req}, which the test index lacks"
            assert served[needed] in req.specifier, f"{wheel.name} needs {req}"
