"""atomic: the one atomic writer (lock files, requirements files and the cache use it)."""

from __future__ import annotations

import os
import stat

import pytest

from peep_setuptools.atomic import replace_file, replace_text


def test_replace_text_keeps_the_mode_and_newlines(tmp_path):
    path = tmp_path / "reqs.txt"
    path.write_bytes(b"old\n")
    os.chmod(path, 0o640)
    replace_text(str(path), "a\r\nb\n\u00e9")
    assert path.read_bytes() == "a\r\nb\n\u00e9".encode()
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert sorted(os.listdir(tmp_path)) == ["reqs.txt"]


def test_a_new_file_gets_the_umask_default(tmp_path):
    mask = os.umask(0o027)
    try:
        replace_text(str(tmp_path / "new.txt"), "x")
    finally:
        os.umask(mask)
    assert stat.S_IMODE((tmp_path / "new.txt").stat().st_mode) == 0o640


def test_a_failed_fill_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "entry.json"
    path.write_text("old")

    def fill(stream):
        stream.write(b"half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        replace_file(str(path), fill, mode=0o644, durable=False)
    assert path.read_text() == "old"
    assert os.listdir(tmp_path) == ["entry.json"]


def test_unwritable_folder_raises_oserror(tmp_path):
    with pytest.raises(OSError):
        replace_text(str(tmp_path / "missing" / "x.txt"), "x")
