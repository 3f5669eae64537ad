from __future__ import annotations

import pytest
from packaging.requirements import Requirement

from peep_setuptools.checks.completeness import Examined, check_completeness
from peep_setuptools.checks.metadata import Dependencies
from peep_setuptools.requirements.lines import parse_reqfile
from peep_setuptools.requirements.spec import ReqLine

ENV = {
    "python_version": "3.11",
    "python_full_version": "3.11.4",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "os_name": "posix",
    "implementation_name": "cpython",
    "platform_machine": "x86_64",
    "platform_python_implementation": "CPython",
    "platform_release": "",
    "platform_version": "",
    "implementation_version": "3.11.4",
}


def _reqs(text: str) -> list[ReqLine]:
    return [e for e in parse_reqfile(text, path="reqs.txt") if isinstance(e, ReqLine)]


def _check(text: str, deps: dict[str, list[str] | None]):
    reqs = _reqs(text)
    examined = [
        Examined(
            r,
            Dependencies(
                r.name,
                r.version or "",
                None if deps.get(r.name) is None else tuple(Requirement(d) for d in deps[r.name]),
                "its PKG-INFO is metadata 2.1" if deps.get(r.name) is None else None,
            ),
        )
        for r in reqs
        if r.name in deps
    ]
    return check_completeness(examined, reqs, marker_env=ENV, files=["reqs.txt"])


def test_absent_and_out_of_range_dependencies_are_named_with_who_needs_them():
    result = _check(
        "flask==3.0.0\nwerkzeug==2.0\nclick==8.1\n",
        {"flask": ["werkzeug>=3.0.0", "click>=8", "itsdangerous>=2.1"]},
    )
    assert [m.message(result.files) for m in result.missing] == [
        "flask==3.0.0 requires werkzeug>=3.0.0, but reqs.txt pins 2.0",
        "flask==3.0.0 requires itsdangerous>=2.1, which is not in reqs.txt",
    ]
    assert not result.complete
    assert "reqs.txt:1" in result.render()


@pytest.mark.parametrize(
    ("dep", "missing"),
    [
        ('b; python_version < "3"', False),
        ('b; sys_platform == "linux"', True),
        ('b; extra == "fast"', False),
        ("pip", True),
        ("setuptools>=40", True),
    ],
)
def test_markers_are_evaluated_and_nothing_is_exempt(dep, missing):
    result = _check("a==1\n", {"a": [dep]})
    assert bool(result.missing) is missing


def test_extras_are_followed_transitively():
    result = _check(
        "a[x]==1\nb==1\n",
        {"a": ['b[y]; extra == "x"'], "b": ['c; extra == "y"', 'd; extra == "z"']},
    )
    assert [m.name for m in result.missing] == ["c"]


def test_unreadable_metadata_is_reported_as_unchecked():
    result = _check("a==1\n", {"a": None})
    assert result.complete
    assert result.unchecked[0].reason == "its PKG-INFO is metadata 2.1"
    assert "could not be checked" in result.render()


def test_complete_file_renders_nothing():
    assert _check("a==1\nb==2\n", {"a": ["b>=2,<3"], "b": []}).render() == ""


def test_extras_keep_their_brackets_in_messages():
    result = _check("httpx[http2]==0.28.1\n", {"httpx": ['h2<5,>=3; extra == "http2"']})
    assert [m.message(result.files) for m in result.missing] == [
        "httpx[http2]==0.28.1 requires h2<5,>=3, which is not in reqs.txt"
    ]


def test_an_installed_version_that_fits_is_a_note_not_missing_as_in_pip():
    reqs = _reqs("a==1\n")
    deps = Dependencies("a", "1", (Requirement("b>=2"), Requirement("c>=2")))
    result = check_completeness(
        [Examined(reqs[0], deps)],
        reqs,
        marker_env=ENV,
        files=["reqs.txt"],
        installed={"b": "2.1", "c": "1.0"},
    )
    assert [m.message(result.files) for m in result.missing] == [
        "a==1 requires c>=2, which is not in reqs.txt"
    ]
    assert [m.message(result.files) for m in result.unpinned] == [
        "a==1 requires b>=2, which is not in reqs.txt; b 2.1 is installed"
    ]
    assert "b 2.1 is installed (reqs.txt:1)" in result.render_notes()


def test_the_refusal_lists_the_pins_by_file_and_keeps_the_notes():
    from peep_setuptools.hashes import Digest
    from peep_setuptools.installing.picking import Pins
    from peep_setuptools.installing.report import render_dependencies
    from peep_setuptools.requirements.editing import NewRequirement

    result = _check("a==1\ns==1\n", {"a": ["b>=2"], "s": None})
    digest = Digest.from_hex("sha256", "a" * 64)
    pins = Pins((("reqs.txt", (NewRequirement("b", "2.1", (digest,)),)),), (), "INDEX")
    text = render_dependencies(result, pins, {"reqs.txt": "pip"})
    assert text.endswith(
        "of the newest fitting version's files as INDEX serves them today:\n\n"
        f"# to reqs.txt\nb==2.1 {digest.pip_option()}\n\n"
        "The dependencies of these archives could not be checked:\n\n"
        "    s (reqs.txt:2): its PKG-INFO is metadata 2.1"
    ), text
