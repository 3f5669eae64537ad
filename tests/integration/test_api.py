"""The library as a library: ``install()``, ``verify()`` in-process, values out, no printing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from support.builders import installed

from peep_setuptools import (
    EnvironmentCheck,
    InstallOptions,
    VerificationFailed,
    Verified,
    install,
    verify,
    verify_environment,
)
from peep_setuptools.installing.verdicts import Problem, Verdict
from peep_setuptools.requirements.lines import IndexOptions

pytestmark = pytest.mark.slow


def test_verification_failed_carries_the_verdicts_and_problems(env, venv, write, packages, index):
    reqs = write(
        "reqs.txt",
        f"alpha==1.0 --hash=sha256:{'0' * 64}\n"
        f"delta==1.0 {packages.pip('delta-1.0')}\n"
        f"nosuchproject==1.0 --hash=sha256:{'1' * 64}\n",
    )
    options = InstallOptions(
        python=str(venv), index=IndexOptions(index_url=index.index_url), no_cache=True, environ=env
    )
    with pytest.raises(VerificationFailed) as caught:
        install([reqs], options)
    failed = caught.value
    verdicts = {v.requirement.name: v.kind for v in failed.verdicts if isinstance(v, Verdict)}
    assert verdicts == {"alpha": "mismatch", "delta": "ok"}
    problems = [p for p in failed.problems if isinstance(p, Problem)]
    assert [p.requirement.name for p in problems] == ["nosuchproject"]
    assert "THE FOLLOWING PACKAGES DIDN'T MATCH THE HASHES" in failed.report


def _options(venv, index, env, **more):
    return InstallOptions(
        python=str(venv),
        index=IndexOptions(index_url=index.index_url),
        no_cache=True,
        environ=env,
        **more,
    )


def test_verify_returns_the_verdicts_and_installs_nothing(env, venv, write, packages, index, capfd):
    reqs = write(
        "reqs.txt",
        f"alpha==1.0 {packages.pip('alpha-1.0')}\ndelta==1.0 {packages.pip('delta-1.0')}\n",
    )
    verified = verify([reqs], _options(venv, index, env))
    assert isinstance(verified, Verified)
    assert verified.archives_ok and not verified.problems
    assert verified.files == (reqs,)
    assert verified.target.python == str(venv)
    kinds = {v.requirement.name: v.kind for v in verified.verdicts}
    assert kinds == {"alpha": "ok", "delta": "ok"}
    sizes = {v.requirement.name: v.size for v in verified.verdicts}
    assert sizes == {
        "alpha": packages.files["alpha-1.0"].stat().st_size,
        "delta": packages.files["delta-1.0"].stat().st_size,
    }
    assert verified.completeness is not None and verified.completeness.complete
    # the library prints nothing (its messages go to logging) and installs nothing
    assert capfd.readouterr() == ("", "")
    assert "alpha" not in installed(venv)


def test_verification_failed_carries_the_verified_value(env, venv, write, packages, index):
    reqs = write(
        "reqs.txt",
        f"alpha==1.0 {packages.pip('alpha-1.0')}\ndelta==1.0\n",
    )
    with pytest.raises(VerificationFailed) as caught:
        verify([reqs], _options(venv, index, env))
    failed = caught.value
    verified = failed.verified
    assert isinstance(verified, Verified)
    assert not verified.archives_ok
    kinds = {v.requirement.name: v.kind for v in verified.verdicts}
    assert kinds == {"alpha": "ok", "delta": "missing"}
    assert verified.verdicts == failed.verdicts
    # the text report is rendered from the same values: the line to add names delta's hash
    missing = next(v for v in verified.verdicts if v.kind == "missing")
    assert missing.actual["sha256"].pip_option() in failed.report
    # the settings the run used, to look more up (as check --fix and --write-hashes do)
    assert verified.index is not None and verified.index.index_urls == [index.index_url]
    with pytest.raises(VerificationFailed) as again:
        install([reqs], _options(venv, index, env))
    assert isinstance(again.value.verified, Verified)
    assert "alpha" not in installed(venv)


def test_verify_installed_is_a_stage_with_values(env, venv, write, packages, index):
    reqs = write("reqs.txt", f"alpha==1.0 {packages.pip('alpha-1.0')}\n")
    first = install([reqs], _options(venv, index, env))
    assert [a.name for a in first.installed] == ["alpha"]
    assert first.installed_checks == ()
    assert isinstance(first.verification, Verified)

    checked = verify_environment([reqs], _options(venv, index, env))
    assert isinstance(checked, EnvironmentCheck)
    assert [(c.requirement.name, c.status) for c in checked.checks] == [("alpha", "ok")]
    assert checked.differing == ()

    # an intact copy is trusted and not reinstalled
    again = install([reqs], _options(venv, index, env, verify_installed=True))
    assert again.installed == ()
    assert [r.name for r in again.skipped] == ["alpha"]
    assert [(c.requirement.name, c.status) for c in again.installed_checks] == [("alpha", "ok")]

    site = Path(installed_file(venv, "alpha/__init__.py"))
    site.write_text("EVIL = 1\n", encoding="utf-8")
    checked = verify_environment([reqs], _options(venv, index, env))
    assert [(c.requirement.name, c.status) for c in checked.differing] == [
        ("alpha", "files-differ")
    ]
    assert "changed: alpha/__init__.py" in checked.differing[0].render()

    # a copy that differs is reinstalled from the verified wheel
    repaired = install([reqs], _options(venv, index, env, verify_installed=True))
    assert [a.name for a in repaired.installed] == ["alpha"]
    assert [c.status for c in repaired.installed_checks] == ["files-differ"]
    assert "ORIGIN = 'wheel'" in site.read_text(encoding="utf-8")
    assert verify_environment([reqs], _options(venv, index, env)).differing == ()


def installed_file(venv, relative):
    import subprocess

    out = subprocess.run(
        [str(venv), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    )
    return str(Path(out.stdout.strip()) / relative)


_PROGRAM = """
import json, sys
import peep_setuptools as peep

options = peep.InstallOptions(
    python=sys.argv[2],
    index=peep.IndexOptions(index_url=sys.argv[3]),
    no_cache=True,
)
try:
    peep.verify([sys.argv[1]], options)
except peep.VerificationFailed as failed:
    verified = failed.verified
    json.dump(
        {
            "exit_code": failed.exit_code,
            "verdicts": {v.requirement.name: [v.kind, v.size] for v in verified.verdicts},
            "missing_sha256": [
                v.actual["sha256"].hex for v in verified.verdicts if v.kind == "missing"
            ],
        },
        sys.stdout,
    )
"""


def test_a_program_reads_the_values_and_peep_prints_nothing(
    env, venv, write, packages, index, tmp_path
):
    import json
    import subprocess
    import sys

    reqs = write("reqs.txt", f"alpha==1.0 {packages.pip('alpha-1.0')}\ndelta==1.0\n")
    program = tmp_path / "program.py"
    program.write_text(_PROGRAM, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(program), reqs, str(venv), index.index_url],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    # only the program's own output: the library printed nothing, and warned of nothing
    assert done.stderr == ""
    values = json.loads(done.stdout)
    assert values == {
        "exit_code": 1,
        "verdicts": {
            "alpha": ["ok", packages.files["alpha-1.0"].stat().st_size],
            "delta": ["missing", packages.files["delta-1.0"].stat().st_size],
        },
        "missing_sha256": [packages.sha256("delta-1.0").hex],
    }


def test_printed_values_hide_the_index_password(env, venv, write, packages, index):
    """repr() and str() of every value a run returns hide the credentials of its URLs."""
    secret = "pa55w0rd"
    url = index.index_url.replace("127.0.0.1", f"user:{secret}@127.0.0.1")
    options = InstallOptions(python=str(venv), no_cache=True, environ=env, dry_run=True)
    bad = write(
        "bad.txt",
        f"--index-url {url}\n"
        f"alpha==1.0 {packages.pip('alpha-1.0')}\n"
        f"delta==1.0 --hash=sha256:{'0' * 64}\n",
    )
    with pytest.raises(VerificationFailed) as caught:
        install([bad], options)
    failed = caught.value
    good = write("good.txt", f"--index-url {url}\nalpha==1.0 {packages.pip('alpha-1.0')}\n")
    result = install([good], options)
    checked = verify_environment([good], options)
    run = result.verification
    assert run is not None and run.index is not None and failed.verified is not None
    assert secret in (run.index.options.index_url or "")  # the value keeps it, to be used
    values = [failed, failed.verified, *failed.verdicts, result, checked, run, *result.verified]
    values += [*run.requirements, run.index, run.index.options, run.index.http]
    for value in values:
        assert secret not in repr(value) and secret not in str(value), repr(value)
    assert "user:****@127.0.0.1" in repr(run)


def test_returned_values_name_no_file_of_the_removed_run(env, venv, write, packages, index):
    """The run's folder is removed as it ends: nothing a caller gets may point into it."""
    import tempfile

    workdirs = os.path.join(tempfile.gettempdir(), "peep-")
    reqs = write("reqs.txt", f"alpha==1.0 {packages.pip('alpha-1.0')}\n")
    result = install([reqs], _options(venv, index, env))
    assert [(a.name, a.version, a.filename) for a in result.installed] == [
        ("alpha", "1.0", packages.files["alpha-1.0"].name)
    ]
    assert result.installed[0].digest.hex == packages.sha256("alpha-1.0").hex
    assert result.verification is not None
    verdicts = [*result.verified, *result.verification.verdicts]
    assert [(v.filename, v.path) for v in verdicts] == [
        (packages.files["alpha-1.0"].name, None)
    ] * 2
    checked = verify_environment([reqs], _options(venv, index, env))
    bad = write("bad.txt", f"alpha==1.0 --hash=sha256:{'0' * 64}\n")
    with pytest.raises(VerificationFailed) as caught:
        verify([bad], _options(venv, index, env))
    failed = caught.value
    assert failed.verified is not None
    returned = [result, checked, failed.verified, *failed.verdicts, *checked.verified.verdicts]
    for value in returned:
        assert workdirs not in repr(value), value
    assert all(v.path is None for v in [*failed.verdicts, *checked.verified.verdicts])
