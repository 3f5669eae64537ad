"""The library as a library: ``install()`` in-process, its errors carrying what failed."""

from __future__ import annotations

import pytest

from peep_setuptools import InstallOptions, VerificationFailed, install
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
