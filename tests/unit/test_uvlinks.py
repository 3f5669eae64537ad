"""Cached wheels handed to uv from a few stable folders of hard links (``uvlinks.py``)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from peep_setuptools.hashes import Digest
from peep_setuptools.installing.cache import ArchiveCache
from peep_setuptools.installing.handoff import VerifiedArchive
from peep_setuptools.installing.uvlinks import BUCKETS, linked


def _cached(
    cache: ArchiveCache, name: str, version: str = "1.0", body: bytes = b"x"
) -> VerifiedArchive:
    filename = f"{name}-{version}-py3-none-any.whl"
    hexd = f"{abs(hash((name, version, body))):064x}"[-64:]
    folder = Path(cache.root, "archives", hexd[:2], hexd)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / filename).write_bytes(body)
    return VerifiedArchive(name, str(folder / filename), Digest("sha256", hexd), version)


@pytest.fixture
def cache(tmp_path):
    root = tmp_path / "cache"
    root.mkdir(mode=0o700)
    return ArchiveCache(str(root))


def _names(n: int) -> list[str]:
    return [f"p{i:03d}" for i in range(n)]


def test_cached_wheels_go_to_at_most_buckets_folders_that_stay_the_same(cache):
    archives = [_cached(cache, name) for name in _names(100)]
    first = linked(archives, cache)
    folders = {os.path.dirname(a.path) for a in first}
    assert 1 < len(folders) <= BUCKETS
    assert all(Path(f).parent == Path(cache.root, "links") for f in folders)
    for before, after in zip(archives, first):
        assert os.path.samefile(before.path, after.path)  # the very file that was hashed
        assert (after.name, after.digest, after.version) == (before.name, before.digest, "1.0")
    assert [a.path for a in linked(archives, cache)] == [a.path for a in first]
    # Each folder holds nothing but its own links.
    assert sum(len(os.listdir(f)) for f in folders) == 100


def test_a_changed_pin_changes_only_its_own_folder(cache):
    archives = [_cached(cache, name) for name in _names(40)]
    before = linked(archives, cache)
    archives[7] = _cached(cache, "p007", "2.0")
    after = linked(archives, cache)
    changed = {os.path.dirname(a.path) for a, b in zip(before, after) if a.path != b.path}
    assert len(changed) == 1
    assert os.path.dirname(after[7].path) not in {os.path.dirname(a.path) for a in before}


def _folder_of(cache, archive):
    (moved,) = linked([archive], cache)
    return Path(moved.path).parent, moved


@pytest.mark.parametrize(
    "how",
    [
        "stray wheel",
        "other file",
        "symlink",
        "writable",
        "a file",
        "a folder of its name",
        "folder a symlink",
        "other files",
    ],
)
def test_a_folder_that_is_not_exactly_its_links_is_built_again(cache, tmp_path, how):
    alpha = _cached(cache, "alpha")
    folder, moved = _folder_of(cache, alpha)
    link = Path(moved.path)
    outside = tmp_path / "outside"  # a restored cache may point anywhere: never touched
    outside.mkdir()
    (outside / link.name).write_bytes(b"theirs")
    if how == "stray wheel":  # a better-tagged wheel of the same version: uv would pick it
        (folder / "alpha-1.0-py3-none-manylinux1_x86_64.whl").write_bytes(b"evil")
    elif how == "other file":  # the same bytes, but not the file that was hashed
        link.unlink()
        link.write_bytes(b"x")
    elif how == "symlink":
        link.unlink()
        (tmp_path / "elsewhere.whl").write_bytes(b"x")
        link.symlink_to(tmp_path / "elsewhere.whl")
    elif how == "writable":
        folder.chmod(0o777)
    elif how == "a folder of its name":
        link.unlink()
        link.mkdir()
        (link / "inside").write_bytes(b"x")
    elif how == "folder a symlink":
        link.unlink()
        folder.rmdir()
        folder.symlink_to(outside)
    elif how == "other files":  # the same name, other files (the same bytes): swapped one by one
        link.unlink()
        os.link(outside / link.name, link)
    else:
        for child in folder.iterdir():
            child.unlink()
        folder.rmdir()
        folder.write_bytes(b"not a folder")
    (again,) = linked([alpha], cache)
    assert again.path == moved.path
    assert os.listdir(folder) == [link.name]
    assert os.path.samefile(again.path, alpha.path)
    assert not Path(again.path).is_symlink()
    assert folder.stat().st_mode & 0o022 == 0
    assert [(p.name, p.read_bytes()) for p in outside.iterdir()] == [(link.name, b"theirs")]
    assert not [p for p in Path(cache.root, "links").iterdir() if p.name.startswith(".")]


def test_what_is_not_a_cached_pinned_wheel_is_left_where_it_is(cache, tmp_path):
    elsewhere = tmp_path / "work" / "beta-1.0-py3-none-any.whl"
    elsewhere.parent.mkdir()
    elsewhere.write_bytes(b"x")
    fresh = VerifiedArchive("beta", str(elsewhere), Digest("sha256", "b" * 64), "1.0")
    by_url = _cached(cache, "gamma")
    by_url = VerifiedArchive("gamma", by_url.path, by_url.digest, "1.0", "https://h/g.whl")
    sdist_path = Path(cache.root, "archives", "dd", "d" * 64, "delta-1.0.tar.gz")
    sdist_path.parent.mkdir(parents=True)
    sdist_path.write_bytes(b"x")
    sdist = VerifiedArchive("delta", str(sdist_path), Digest("sha256", "d" * 64), "1.0")
    archives = (fresh, by_url, sdist)
    assert linked(archives, cache) == archives
    assert not Path(cache.root, "links").exists() or not os.listdir(Path(cache.root, "links"))


def test_two_wheels_of_one_file_name_are_not_linked(cache):
    one = _cached(cache, "alpha", body=b"one")
    two = _cached(cache, "alpha", body=b"two")
    assert linked([one, two], cache) == (one, two)  # the handoff refuses them itself


def test_without_hard_links_the_wheels_stay_in_their_entries(cache, monkeypatch):
    archives = (_cached(cache, "alpha"), _cached(cache, "beta"))

    def refuse(source, dest):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "link", refuse)
    assert linked(archives, cache) == archives
    assert [p.name for p in Path(cache.root, "links").iterdir()] == []  # nothing left behind


def test_folders_unused_for_a_month_go_when_a_new_one_is_made(cache):
    old = linked([_cached(cache, "alpha")], cache)[0]
    used = linked([_cached(cache, "beta")], cache)[0]
    month = time.time() - 31 * 24 * 3600
    for archive in (old, used):
        os.utime(Path(archive.path).parent, (month, month))
    linked([_cached(cache, "beta")], cache)  # in use again: kept
    linked([_cached(cache, "gamma")], cache)  # a new folder: the unused one goes
    assert not Path(old.path).parent.exists()
    assert Path(used.path).exists()


def test_an_untrusted_cache_gets_no_links(cache):
    archives = (_cached(cache, "alpha"),)
    links = Path(cache.root, "links")
    links.mkdir()
    links.chmod(0o777)  # someone else could put a folder of their own there
    assert linked(archives, cache) == archives


def _stored_again(archive: VerifiedArchive) -> None:
    """What a second run sharing the cache does when it downloaded the same wheel too (two
    cold runs at once): its own file, the same bytes, replaces the entry's (``store``)."""
    path = Path(archive.path)
    copy = path.with_name(".other-run")
    copy.write_bytes(path.read_bytes())
    os.replace(copy, path)


def test_a_folder_another_run_was_handed_never_loses_a_file_while_it_is_made_again(
    cache, monkeypatch
):
    """Two runs sharing a cache: the first run's uv reads the folders it was handed while
    the second finds them holding the entries' older files. Moving a folder aside to put a
    new one in its place left the first run's uv without it ("Failed to read --find-links
    directory ... No such file or directory", exit 1, with two cold runs at once)."""
    archives = [_cached(cache, name) for name in _names(40)]
    handed = [a.path for a in linked(archives, cache)]
    for archive in archives:
        _stored_again(archive)
    missing: list[str] = []

    def watching(function):
        def call(*args, **kwargs):
            result = function(*args, **kwargs)
            missing.extend(p for p in handed if not os.path.isfile(p))
            return result

        return call

    for name in ("rename", "replace", "unlink", "rmdir", "link", "mkdir"):
        monkeypatch.setattr(os, name, watching(getattr(os, name)))
    again = linked(archives, cache)
    monkeypatch.undo()
    assert missing == []
    assert [a.path for a in again] == handed  # the same paths: uv's cache knows them
    for before, after in zip(archives, again):
        assert os.path.samefile(before.path, after.path)  # the entries' files now


def test_removing_unused_folders_never_reaches_outside_the_cache(cache, tmp_path):
    """What a restored cache may hold in links/, a month old: a symbolic link to a folder
    elsewhere, a folder holding one, and a hard link to a file elsewhere."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_bytes(b"theirs")
    links = Path(cache.root, "links")
    links.mkdir()
    (links / "a").symlink_to(outside)
    (links / "b").mkdir()
    (links / "b" / "in").symlink_to(outside)
    os.link(outside / "keep.txt", links / "b" / "linked.txt")
    month = time.time() - 31 * 24 * 3600
    for path in (links / "a", links / "b"):
        os.utime(path, (month, month), follow_symlinks=False)
    linked([_cached(cache, "alpha")], cache)  # a new folder: unused ones go
    assert not (links / "b").exists()
    assert (links / "a").is_symlink()  # not a folder of ours: left alone
    assert [(p.name, p.read_bytes()) for p in outside.iterdir()] == [("keep.txt", b"theirs")]
