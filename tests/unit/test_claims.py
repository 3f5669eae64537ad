"""Which project an installed entry names: one rule, also spelled in the target probe."""

from __future__ import annotations

import os

import pytest

from peep_setuptools import probing
from peep_setuptools.checks.claims import claimed, metadata_project

ENTRIES = [
    ("foo-1.0.dist-info", "foo", "foo"),
    ("Foo_Bar-2.0.DIST-INFO", "Foo_Bar", "Foo_Bar"),
    ("foobar.egg-info", "foobar", "foobar"),
    ("a.b-1.0.dist-info", "a.b", "a.b"),
    (".dist-info", "", ""),
    ("dist-info", None, None),
    ("thing-1.0-py3.9.egg", None, "thing"),
    ("thing.EGG", None, "thing"),
    ("foo.py", None, None),
    ("foo-1.0.dist-info.bak", None, None),
    ("proj.egg-link", None, None),
]


def _probe_pip_name():
    start = probing.PROBE.index("def pip_name(entry):")
    end = probing.PROBE.index("\ndef ", start)
    space = {"os": os}
    exec(probing.PROBE[start:end], space)
    return space["pip_name"]


@pytest.mark.parametrize(("entry", "plain", "with_eggs"), ENTRIES)
def test_one_rule_names_the_project_of_metadata_entries(entry, plain, with_eggs):
    assert metadata_project(entry) == plain
    assert metadata_project(entry, eggs=True) == with_eggs


@pytest.mark.parametrize(("entry", "plain", "with_eggs"), ENTRIES)
def test_the_probe_spells_the_same_rule(entry, plain, with_eggs):
    pip_name = _probe_pip_name()
    assert pip_name(entry) == with_eggs
    assert pip_name(os.path.join("site", entry) + os.sep) == with_eggs


@pytest.mark.parametrize(
    ("entry", "project"),
    [
        ("foo-1.0.dist-info", "foo"),
        ("proj.egg-link", "proj"),
        ("__editable__.proj-1.0.pth", "proj"),
        ("thing-1.0-py3.9.egg", None),
        ("other.pth", None),
    ],
)
def test_site_packages_entries_claim_projects(entry, project):
    assert claimed(entry) == project
