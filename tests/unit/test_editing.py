from __future__ import annotations

import os

import pytest

from peep_setuptools.errors import RequirementsFileError
from peep_setuptools.hashes import Digest
from peep_setuptools.requirements.editing import (
    NewRequirement,
    plan_edit,
    set_requirements,
    write_atomic,
)

A = Digest("sha256", "a" * 64)
B = Digest("sha256", "b" * 64)
C = Digest("sha256", "c" * 64)


def test_appends_in_peep_format_to_a_peep_file():
    text = f"# top\n{C.peep_line()}\nzeta==1.0\n"
    out = set_requirements(text, [NewRequirement("Alpha", "1.0", (A, B))], path="r.txt")
    assert out == text + f"{A.peep_line()}\n{B.peep_line()}\nAlpha==1.0\n"


def test_appends_in_pip_format_when_the_file_uses_it_and_adds_a_missing_newline():
    text = f"zeta==1.0 {C.pip_option()}"
    out = set_requirements(text, [NewRequirement("alpha", "1.0", (A, B))], path="r.txt")
    assert out == text + f"\nalpha==1.0 \\\n    {A.pip_option()} \\\n    {B.pip_option()}\n"


def test_replaces_in_place_keeping_extras_marker_and_other_lines_byte_for_byte():
    text = (
        "# keep me  \n"
        f"{C.peep_line()}\n"
        "# a comment between\n"
        'Alpha[x]==0.9; python_version >= "3"\n'
        "\n"
        f"beta==1 {C.pip_option()}\n"
    )
    out = set_requirements(text, [NewRequirement("alpha", "1.0", (A,))], path="r.txt")
    assert out == (
        "# keep me  \n"
        "# a comment between\n"
        f'{A.peep_line()}\nAlpha[x]==1.0; python_version >= "3"\n'
        "\n"
        f"beta==1 {C.pip_option()}\n"
    )


def test_replaces_a_continued_pip_line():
    text = (
        f"alpha==0.9 \\\n    {C.pip_option()} \\\n    {B.pip_option()}\nbeta==1 {C.pip_option()}\n"
    )
    out = set_requirements(text, [NewRequirement("alpha", "1.0", (A,))], path="r.txt")
    assert out == f"alpha==1.0 {A.pip_option()}\nbeta==1 {C.pip_option()}\n"


def test_keeps_crlf_and_a_bom():
    text = f"\ufeff# x\r\nzeta==1.0 {C.pip_option()}\r\n"
    out = set_requirements(text, [NewRequirement("alpha", "1.0", (A, B))], path="r.txt")
    assert out.startswith(text)
    assert out[len(text) :] == (
        f"alpha==1.0 \\\r\n    {A.pip_option()} \\\r\n    {B.pip_option()}\r\n"
    )
    assert "\n" not in out.replace("\r\n", "")


def test_style_override():
    out = set_requirements("", [NewRequirement("alpha", "1.0", (A,))], path="r", style="pip")
    assert out == f"alpha==1.0 {A.pip_option()}\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("wombat>=2\n", "r.txt:1: 'wombat>=2' is not pinned"),
        ("alpha @ https://example.com/alpha-1.0.tar.gz\n", "r.txt:1: alpha is pinned by URL"),
    ],
)
def test_refuses_files_it_cannot_edit_safely(text, message):
    with pytest.raises(RequirementsFileError) as info:
        set_requirements(text, [NewRequirement("alpha", "1.0", (A,))], path="r.txt")
    assert str(info.value).startswith(message)


def test_write_atomic_keeps_mode_and_leaves_no_temp_files(tmp_path):
    path = tmp_path / "r.txt"
    path.write_bytes(b"zeta==1.0\r\n")
    os.chmod(path, 0o640)
    edit = plan_edit(str(path), [NewRequirement("alpha", "1.0", (A,))])
    write_atomic(str(path), edit.after)
    assert path.read_bytes() == f"zeta==1.0\r\n{A.peep_line()}\r\nalpha==1.0\r\n".encode()
    assert os.stat(path).st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.txt"]
    assert "+alpha==1.0" in edit.diff()
