"""Which verified wheels may be installed by separate installer runs: never two writing one file."""

from __future__ import annotations

from pathlib import Path

from peep_setuptools.hashes import Digest
from peep_setuptools.installing.batches import MIN_PER_BATCH, split
from peep_setuptools.installing.handoff import VerifiedArchive
from tests.support.builders import make_wheel, write_wheel

H = Digest("sha256", "a" * 64)


def _verified(path: Path, name: str) -> VerifiedArchive:
    return VerifiedArchive(name, str(path), H, "1.0")


def _many(tmp_path: Path, count: int) -> list[VerifiedArchive]:
    return [
        _verified(make_wheel(tmp_path, f"pkg{i:03d}", "1.0"), f"pkg{i:03d}") for i in range(count)
    ]


def _names(batches: list[list[VerifiedArchive]]) -> list[list[str]]:
    return [[a.name for a in batch] for batch in batches]


def test_independent_wheels_are_split_evenly_keeping_their_order(tmp_path: Path) -> None:
    archives = _many(tmp_path, 40)
    batches = split(archives, installed={}, at_once=2, at_most=200)
    assert len(batches) == 2
    assert sorted(len(b) for b in batches) == [20, 20]
    for batch in batches:
        assert batch == [a for a in archives if a in batch]
    assert sorted(a.name for b in batches for a in b) == [a.name for a in archives]


def test_batches_are_at_most_so_many_and_never_too_small(tmp_path: Path) -> None:
    archives = _many(tmp_path, 40)
    assert [len(b) for b in split(archives, installed={}, at_once=1, at_most=10)] == [10] * 4
    # 40 wheels make at most 40 // MIN_PER_BATCH batches however many could run at once
    assert len(split(archives, installed={}, at_once=16, at_most=200)) == 40 // MIN_PER_BATCH
    few = archives[: 2 * MIN_PER_BATCH - 1]
    assert split(few, installed={}, at_once=2, at_most=200) == [few]


def test_nothing_is_split_when_anything_installed_is_replaced(tmp_path: Path) -> None:
    # Removing the old copy could delete a file that another run has just written.
    archives = _many(tmp_path, 40)
    assert split(archives, installed={"pkg007": "0.9"}, at_once=2, at_most=200) == [archives]


def test_wheels_writing_the_same_file_share_a_batch(tmp_path: Path) -> None:
    archives = _many(tmp_path, 30)
    shared = {"ns/__init__.py": b"", "Tools/README": b""}
    for name, extra in [("one", "ns/one.py"), ("two", "ns/two.py")]:
        path = write_wheel(tmp_path, name, "1.0", {**shared, extra: b""})
        archives.append(_verified(path, name))
    # the same file under another case, and through ``..``
    path = write_wheel(tmp_path, "three", "1.0", {"three/../TOOLS/readme": b""})
    archives.append(_verified(path, "three"))
    batches = _names(split(archives, installed={}, at_once=2, at_most=200))
    assert len(batches) == 2
    together = next(b for b in batches if "one" in b)
    assert {"two", "three"} <= set(together)


def test_scripts_of_the_same_name_share_a_batch(tmp_path: Path) -> None:
    archives = _many(tmp_path, 30)
    console = "[console_scripts]\nRun = one:main\n"
    path = write_wheel(tmp_path, "one", "1.0", {"one.py": b""}, entry_points=console)
    archives.append(_verified(path, "one"))
    path = write_wheel(tmp_path, "two", "1.0", {"two-1.0.data/scripts/bin/run": b""})
    archives.append(_verified(path, "two"))
    path = write_wheel(tmp_path, "three", "1.0", {"three-1.0.data/purelib/one.py": b""})
    archives.append(_verified(path, "three"))
    batches = _names(split(archives, installed={}, at_once=2, at_most=200))
    assert len(batches) == 2
    assert {"one", "two", "three"} <= set(next(b for b in batches if "one" in b))


def test_a_wheel_that_cannot_be_read_stops_the_split(tmp_path: Path) -> None:
    archives = _many(tmp_path, 30)
    broken = tmp_path / "broken-1.0-py3-none-any.whl"
    broken.write_bytes(b"not a zip")
    archives.append(_verified(broken, "broken"))
    assert split(archives, installed={}, at_once=2, at_most=200) == [archives]
    odd = write_wheel(tmp_path, "odd", "1.0", {}, entry_points="[console_scripts\n")
    archives[-1] = _verified(odd, "odd")
    assert split(archives, installed={}, at_once=2, at_most=200) == [archives]
