"""When peep compiles after pip (on every core) and when pip compiles as it installs."""

from __future__ import annotations

from support.builders import write_wheel

from peep_setuptools.hashes import Digest
from peep_setuptools.installing.bytecode import compile_after_pays
from peep_setuptools.installing.handoff import VerifiedArchive


def _archives(paths):
    return [VerifiedArchive("x", str(path), Digest("sha256", "a" * 64)) for path in paths]


def test_a_few_small_wheels_are_left_to_pip(tmp_path):
    wheels = [
        str(write_wheel(tmp_path, f"tiny{i}", "1.0", {f"tiny{i}/__init__.py": b"X = 1\n"}))
        for i in range(40)
    ]
    assert not compile_after_pays(_archives(wheels), jobs=2)
    assert not compile_after_pays(_archives(wheels), jobs=8)


def test_much_source_is_compiled_on_every_core_but_not_on_one(tmp_path):
    big = b"NAME = 'x'\n" * 300_000  # 3.3 MB: about a third of a second of pip's compiling
    wheel = str(write_wheel(tmp_path, "big", "1.0", {"big/__init__.py": big}))
    assert compile_after_pays(_archives([wheel]), jobs=2)
    assert not compile_after_pays(_archives([wheel]), jobs=1)


def test_an_sdist_or_unreadable_wheel_counts_as_much(tmp_path):
    sdist = tmp_path / "thing-1.0.tar.gz"
    sdist.write_bytes(b"not read")
    broken = tmp_path / "broken-1.0-py3-none-any.whl"
    broken.write_bytes(b"not a zip")
    assert compile_after_pays(_archives([sdist]), jobs=2)
    assert compile_after_pays(_archives([broken]), jobs=2)
