"""Which verified wheels may be installed by separate installer runs: never two writing one file."""

from __future__ import annotations

import dataclasses
import os
import time
import zipfile
from pathlib import Path

from peep_setuptools.hashes import Digest
from peep_setuptools.installing.batches import (
    SPLIT_AT_MOST_BYTES,
    _groups,
    split,
    split_runs,
)
from peep_setuptools.installing.children import MIN_PER_BATCH
from peep_setuptools.installing.handoff import VerifiedArchive
from peep_setuptools.target import probe
from tests.support.builders import make_wheel, unpackable_wheel, write_wheel

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
    # script names that cannot be read (not UTF-8): pip could write any
    odd = write_wheel(tmp_path, "odd", "1.0", {"odd-1.0.dist-info/entry_points.txt": b"\xff"})
    archives[-1] = _verified(odd, "odd")
    assert split(archives, installed={}, at_once=2, at_most=200) == [archives]


def _together(tmp_path: Path, pairs: dict[str, tuple[dict[str, bytes], str | None]]) -> None:
    """Each pair of wheels (``NAME-a``, ``NAME-b``) lands in one batch among 30 others."""
    archives = _many(tmp_path, 30)
    for name, (files, entry_points) in pairs.items():
        path = write_wheel(tmp_path, name, "1.0", files, entry_points=entry_points)
        archives.append(_verified(path, name))
    batches = _names(split(archives, installed={}, at_once=2, at_most=200))
    assert len(batches) == 2
    apart = [
        name
        for name in pairs
        if name.endswith("-a")
        and not any({name, name[:-1] + "b"} <= set(batch) for batch in batches)
    ]
    assert apart == []


def _console(line: str) -> str:
    return f"[console_scripts]\n{line}\n"


def test_entry_points_read_otherwise_or_not_installable_stop_the_split(tmp_path: Path) -> None:
    # pip makes a script of the last word before '=' (';' and indentation are no comment
    # to importlib), uv refuses such a line or a name with a path as it installs (pip
    # 3.9/3.10 refuse "[[...]]"), both a script with no callable: split, the runs before
    # the one that fails had installed theirs.
    archives = _many(tmp_path, 30)
    for number, points in enumerate(
        [
            "[console_scripts]\nfoo = m:f\n  contbar = m:f\n",
            "[[console_scripts]]\ndblbar = m:f\n",
            _console("; semibar = m:f"),
            _console("sub/slashbar = m:f"),
            _console("../lib/upbar = m:f"),
            _console("bar = m"),
            _console("bar = m:f\x1cbaz = m:f"),  # one line to uv, two to splitlines()
            "bar = m:f\n",
            "[console_scripts]\nbar = m:f\n[console_scripts]\nbaz = m:f\n",
            "[console_scripts]\nbar = m:f\nbar = m:g\n",
            _console("b" * 101 + " = m:f"),
        ]
    ):
        path = write_wheel(tmp_path / str(number), "odd", "1.0", {}, entry_points=points)
        with_odd = [*archives, _verified(path, "odd")]
        assert split(with_odd, installed={}, at_once=2, at_most=200) == [with_odd], points
    fine = "# a comment\n[console_scripts]\nbar-2 = m.n:f.g [x]\n\n[gui_scripts]\nbar = m:f\n"
    path = write_wheel(tmp_path / "fine", "odd", "1.0", {}, entry_points=fine)
    assert (
        len(split([*archives, _verified(path, "odd")], installed={}, at_once=2, at_most=200)) == 2
    )


def test_scripts_pip_names_otherwise_share_a_batch(tmp_path: Path) -> None:
    # pip writes a console script from what its script maker finds in "NAME = VALUE", and
    # "pip" also as pip3 and pip3.X, "easy_install" as easy_install-3.X.
    plain = ({"plain.py": b""}, None)
    pairs: dict[str, tuple[dict[str, bytes], str | None]] = {
        "pip-a": ({}, _console("pip = m:f")),
        "pip-b": ({}, _console("pip3 = m:f")),
        "easy-a": ({}, _console("easy_install = m:f")),
        "easy-b": ({"easy_b-1.0.data/scripts/easy_install-3.11": b""}, None),
        "plain-a": plain,
        "plain-b": plain,
    }
    _together(tmp_path, pairs)


def test_data_files_under_another_scheme_share_a_batch(tmp_path: Path) -> None:
    # NAME.data/data/ is the environment's root: site-packages, bin and include are in it.
    site = "lib/python3.11/site-packages"
    pairs: dict[str, tuple[dict[str, bytes], str | None]] = {
        "lib-a": ({f"lib_a-1.0.data/data/{site}/shared_mod.py": b""}, None),
        "lib-b": ({"shared_mod.py": b""}, None),
        "plat-a": ({f"plat_a-1.0.data/data/{site}/plat/x.py": b""}, None),
        "plat-b": ({"plat_b-1.0.data/platlib/plat/x.py": b""}, None),
        "bin-a": ({"bin_a-1.0.data/data/bin/bintool": b""}, None),
        "bin-b": ({}, _console("bintool = m:f")),
        "sub-a": ({"sub_a-1.0.data/data/bin/sub/tool": b""}, None),
        "sub-b": ({"sub_b-1.0.data/scripts/sub/tool": b""}, None),
        "head-a": ({"head_a-1.0.data/data/include/site/python3.11/head-b/h.h": b""}, None),
        "head-b": ({"head_b-1.0.data/headers/h.h": b""}, None),
    }
    _together(tmp_path, pairs)


def test_two_wheels_of_one_project_share_a_batch(tmp_path: Path) -> None:
    # pip refuses two of one project in one run; two runs would install both.
    archives = _many(tmp_path, 30)
    old = _verified(write_wheel(tmp_path / "old", "twice", "1.0", {"a.py": b""}), "twice")
    new = VerifiedArchive("twice", str(write_wheel(tmp_path / "new", "twice", "2.0", {})), H, "2.0")
    archives[:0] = [old]
    archives.append(new)
    batches = split(archives, installed={}, at_once=2, at_most=200)
    assert len(batches) == 2
    assert any(old in batch and new in batch for batch in batches)


def test_a_huge_entry_points_file_stops_the_split_unread(tmp_path: Path) -> None:
    # It is read before any installer runs: a zip bomb must not take our memory.
    archives = _many(tmp_path, 30)
    huge = "[console_scripts]\n" + ("#" * 1000 + "\n") * 20_000
    path = write_wheel(tmp_path, "huge", "1.0", {}, entry_points=huge)
    archives.append(_verified(path, "huge"))
    assert split(archives, installed={}, at_once=2, at_most=200) == [archives]


def test_data_files_too_many_or_too_long_to_key_stop_the_split(tmp_path: Path) -> None:
    # Every tail of a data file's path is a key: their number must not grow unbounded.
    archives = _many(tmp_path, 30)
    deep = "/".join(["d"] * 400)
    files = {f"deep-1.0.data/data/{i}/{deep}": b"" for i in range(60)}
    archives.append(_verified(write_wheel(tmp_path, "deep", "1.0", files), "deep"))
    assert split(archives, installed={}, at_once=2, at_most=200) == [archives]
    long = {f"long-1.0.data/data/{'x' * 2000}": b""}
    archives[-1] = _verified(write_wheel(tmp_path, "long", "1.0", long), "long")
    assert split(archives, installed={}, at_once=2, at_most=200) == [archives]


def test_wheels_writing_a_start_up_hook_come_last_together(tmp_path: Path) -> None:
    # A .pth file or sitecustomize runs in every Python started after it is written: their
    # batch is the one started last, once the others are done (split_runs says so).
    archives = _many(tmp_path, 40)
    hooks = {
        "pth": {"zz.pth": b""},
        "custom": {"sitecustomize.py": b""},
        "datapth": {"datapth-1.0.data/purelib/other.pth": b""},
        "imported": {"_manylinux.py": b""},  # pip imports it if it is there
        "conf": {"conf-1.0.data/data/pip.conf": b""},  # pip reads the environment's own
        "cfg": {"cfg-1.0.data/data/pyvenv.cfg": b""},  # so does Python
        "python": {"python-1.0.data/scripts/python3.11": b""},  # the next installer's Python
        "pypy": {"pypy-1.0.data/scripts/pypy3.10": b""},  # a PyPy venv's
        "pipself": {"pip/__init__.py": b""},
        "managed": {"managed-1.0.data/data/lib/python3.11/EXTERNALLY-MANAGED": b""},
        "stdlib": {"stdlib-1.0.data/data/lib/python3.11/os.py": b""},  # not in a venv
    }
    for name, files in hooks.items():
        archives.insert(5, _verified(write_wheel(tmp_path, name, "1.0", files), name))
    batches, last_alone = split_runs(archives, installed={}, at_once=2, at_most=200)
    assert last_alone
    assert len(batches) == 3
    assert _names(batches)[-1] == [*reversed(hooks)]
    plain = [a for a in archives if a.name not in hooks]
    site = "site-1.0.data/data/lib/python3.11/site-packages/site_mod.py"
    plain.append(_verified(write_wheel(tmp_path, "site", "1.0", {site: b""}), "site"))
    assert split_runs(plain, installed={}, at_once=2, at_most=200)[1] is False


def test_reading_script_names_takes_time_in_proportion(tmp_path: Path) -> None:
    # One long word and no '=': a pattern that tries every start in it is quadratic (a
    # 1 MB entry_points.txt would take hours before any installer runs).
    archives = _many(tmp_path, 30)
    points = (
        "[console_scripts]\nok = m:f\n[other]\nx = " + "a" * 300_000 + "\ny = " + ". " * 200_000
    )
    archives.append(
        _verified(write_wheel(tmp_path, "wordy", "1.0", {}, entry_points=points), "wordy")
    )
    started = time.monotonic()
    assert len(split(archives, installed={}, at_once=2, at_most=200)) == 2
    assert time.monotonic() - started < 5


def test_names_one_on_a_case_insensitive_file_system_share_a_batch(tmp_path: Path) -> None:
    # Unicode's caseless match is on the decomposed form (NFD, casefold, NFD): composed
    # first, "ΐ" and "Ϊ́" folded apart though such a file system takes them for one name.
    pairs: dict[str, tuple[dict[str, bytes], str | None]] = {
        "iota-a": ({"\u0390.py": b""}, None),
        "iota-b": ({"\u0399\u0308\u0301.py": b""}, None),
        "alpha-a": ({"\u1fb7.py": b""}, None),
        "alpha-b": ({"\u0391\u0342\u0345.py": b""}, None),
    }
    _together(tmp_path, pairs)


def test_files_the_installer_writes_itself_share_a_batch(tmp_path: Path) -> None:
    # INSTALLER, REQUESTED, RECORD, direct_url.json in a wheel's dist-info folder, and the
    # bytecode pip compiles beside a module: another wheel may ship the same file.
    site = "lib/python3.11/site-packages"
    pairs: dict[str, tuple[dict[str, bytes], str | None]] = {
        "info-a": ({"info_a-1.0.data/purelib/info_b-1.0.dist-info/INSTALLER": b""}, None),
        "info-b": ({}, None),
        "url-a": ({f"url_a-1.0.data/data/{site}/url_b-1.0.dist-info/direct_url.json": b""}, None),
        "url-b": ({}, None),
        "pyc-a": ({"pkg/__pycache__/mod.cpython-311.opt-1.pyc": b""}, None),
        "pyc-b": ({"pkg/mod.py": b""}, None),
    }
    _together(tmp_path, pairs)


def test_a_wheel_an_installer_may_refuse_before_installing_stops_the_split(
    tmp_path: Path,
) -> None:
    # One run refusing a wheel while it prepares installs nothing; split, the other runs
    # would install theirs. Checked against the target: its tags and Python version.
    target = probe()
    archives = _many(tmp_path, 30)
    assert len(split(archives, installed={}, at_once=2, at_most=200, target=target)) == 2
    meta = "Metadata-Version: 2.1\nName: odd\nVersion: {}\n"
    odd: dict[str, dict[str, object]] = {
        "metadata version": {"metadata": meta.format("2.0")},
        "metadata name": {"metadata": meta.replace("odd", "other").format("1.0")},
        "requires-python": {"requires_python": ">=4"},
        "bad requires-python": {"requires_python": ">=3.x"},
        "bad requires-dist": {"requires_dist": ["x; python_version >> '3'"]},
        "unevaluable marker": {"requires_dist": ["x; python_full_version ~= '3'"]},
        "unevaluable with an extra": {
            "requires_dist": ["x; extra == 'e' and python_full_version ~= '3'"],
            "extra_metadata": "Provides-Extra: e\n",
        },
        "tags": {"tag": "cp27-cp27m-win32"},
    }
    for why, kwargs in odd.items():
        path = write_wheel(tmp_path / why, "odd", "1.0", {"odd.py": b""}, **kwargs)  # type: ignore[arg-type]
        with_odd = [*archives, _verified(path, "odd")]
        batches = split(with_odd, installed={}, at_once=2, at_most=200, target=target)
        assert batches == [with_odd], why
    for member in ("../escape.py", "/abs.py", "odd-1.0.data/nowhere/x", "odd-1.0.data/purelib"):
        path = write_wheel(tmp_path / member.replace("/", "_"), "odd", "1.0", {member: b""})
        with_odd = [*archives, _verified(path, "odd")]
        batches = split(with_odd, installed={}, at_once=2, at_most=200, target=target)
        assert batches == [with_odd], member
    two = write_wheel(tmp_path / "two", "odd", "1.0", {"odd.py": b""})
    with zipfile.ZipFile(two, "a") as wheel:
        wheel.writestr("extra-1.0.dist-info/METADATA", "Name: extra\nVersion: 1.0\n")
    assert split([*archives, _verified(two, "odd")], installed={}, at_once=2, at_most=200) == [
        [*archives, _verified(two, "odd")]
    ]


def test_a_module_the_targets_pth_files_import_is_a_start_up_hook(tmp_path: Path) -> None:
    # virtualenv's _virtualenv.pth imports _virtualenv: a wheel replacing it is run by the
    # next Python that starts.
    archives = _many(tmp_path, 40)
    path = write_wheel(tmp_path, "venvish", "1.0", {"_virtualenv.py": b""})
    archives.append(_verified(path, "venvish"))
    target = probe()
    assert split_runs(archives, at_once=2, at_most=200, target=target)[1] is False
    started = dataclasses.replace(target, startup_modules=frozenset({"_VirtualEnv"}))
    batches, last_alone = split_runs(archives, at_once=2, at_most=200, target=started)
    assert last_alone
    assert _names(batches)[-1] == ["venvish"]


def test_a_file_where_another_wheel_has_a_folder_shares_a_batch(tmp_path: Path) -> None:
    # "clash" and "clash/inner.py": whichever pip writes second fails half-way; which one
    # that is, and so which wheel is left half-written, must be one run's order.
    pairs: dict[str, tuple[dict[str, bytes], str | None]] = {
        "file-a": ({"clash": b""}, None),
        "file-b": ({"clash/inner.py": b""}, None),
        "deep-a": ({"deep/er": b""}, None),
        "deep-b": ({"deep_b-1.0.data/purelib/deep/er/est/x.py": b""}, None),
        "bin-a": ({"bin_a-1.0.data/scripts/tool": b""}, None),
        "bin-b": ({"bin_b-1.0.data/scripts/tool/sub": b""}, None),
    }
    _together(tmp_path, pairs)
    # a shared folder alone joins nothing
    archives = _many(tmp_path, 40)
    for name in ("ns-a", "ns-b"):
        path = write_wheel(tmp_path, name, "1.0", {f"ns/{name}.py": b""})
        archives.append(_verified(path, name))
    assert len(_groups(archives, None) or []) == 42


def test_a_wheel_with_a_member_that_cannot_be_unpacked_stops_the_split(tmp_path: Path) -> None:
    # uv unpacks every wheel before it installs any and refuses these then; pip fails
    # half-way through its wheels: split, the other runs would install theirs.
    archives = _many(tmp_path, 30)
    hows = ["crc", "encrypted", "compression", "cp437", "unicode-path", "prefix", "suffix"]
    hows += ["local-crc", "local-unicode-path", "comment", "entry-count"]
    # a name uv refuses or no file system takes; a file where the wheel has a folder
    hows += ["empty-name", "control-name", "format-name", "dot-name", "long-name"]
    hows += ["file-and-folder", "folder-entry", "installer-folder", "record-rows", "record-utf8"]
    for how in [*hows, "entry-points-section", "script-value", "script-name"]:
        with_odd = [*archives, _verified(unpackable_wheel(tmp_path / how, how), "odd")]
        assert split(with_odd, installed={}, at_once=2, at_most=200) == [with_odd], how


def test_a_wheel_carrying_what_pip_takes_for_another_project_shares_its_batch(
    tmp_path: Path,
) -> None:
    # A run started after the carrier's would find that project "installed" and remove it.
    for carried in (
        "carrier-1.0.data/purelib/Victim-0.9.dist-info/METADATA",
        "victim.egg-info/PKG-INFO",
        "carrier-1.0.data/data/lib/python3.11/site-packages/victim-0.9.egg-info",
    ):
        archives = _many(tmp_path / str(len(carried)), 30)
        carrier = write_wheel(
            tmp_path / carried.replace("/", "_"), "carrier", "1.0", {carried: b""}
        )
        victim = write_wheel(tmp_path / "victim", "victim", "1.0", {"victim.py": b""})
        archives[:0] = [_verified(carrier, "carrier")]
        archives.append(_verified(victim, "victim"))
        batches = split(archives, installed={}, at_once=2, at_most=200)
        assert len(batches) == 2
        assert any(archives[0] in batch and archives[-1] in batch for batch in batches), carried


def test_wheels_too_large_to_read_first_are_one_run(tmp_path: Path) -> None:
    # Every member is read before a split; for big wheels that costs more than it saves.
    archives = _many(tmp_path, 30)
    big = write_wheel(tmp_path, "big", "1.0", {"big/blob.bin": os.urandom(SPLIT_AT_MOST_BYTES)})
    archives.append(_verified(big, "big"))
    assert split(archives, installed={}, at_once=2, at_most=200) == [archives]
    assert split(archives, installed={}, at_once=1, at_most=10) == [archives]
    assert len(split(archives[:-1], installed={}, at_once=2, at_most=200)) == 2


def test_a_script_named_as_the_targets_interpreter_is_a_start_up_hook(tmp_path: Path) -> None:
    # Each installer run starts the target's interpreter by its name in bin/.
    target = dataclasses.replace(probe(), python=str(tmp_path / "bin" / "MyPython"))
    archives = _many(tmp_path, 40)
    odd = write_wheel(tmp_path, "odd", "1.0", {"odd-1.0.data/scripts/mypython": b""})
    archives.insert(5, _verified(odd, "odd"))
    batches, last_alone = split_runs(archives, at_once=2, at_most=200, target=target)
    assert last_alone
    assert _names(batches)[-1] == ["odd"]


def test_a_file_where_the_target_has_a_folder_stops_the_split(tmp_path: Path) -> None:
    # pip fails on it half-way through its wheels (a run beside it goes on), uv as it
    # installs: "clash" where the target has "clash/", a folder where it has a file.
    site, bin_ = tmp_path / "site", tmp_path / "bin"
    (site / "clash" / "deep").mkdir(parents=True)
    (site / "plain.py").write_bytes(b"")
    (bin_ / "tooldir").mkdir(parents=True)
    paths = (("purelib", str(site)), ("platlib", str(site)), ("scripts", str(bin_)))
    target = dataclasses.replace(probe(), install_paths=(*paths, ("data", str(tmp_path))))
    archives = _many(tmp_path / "many", 30)
    assert len(split(archives, installed={}, at_once=2, at_most=200, target=target)) == 2
    for number, (files, points) in enumerate(
        [
            ({"clash": b""}, None),
            ({"clash/deep": b""}, None),
            ({"plain.py/inner.py": b""}, None),
            ({"odd-1.0.data/purelib/clash": b""}, None),
            ({"odd-1.0.data/data/site/clash": b""}, None),
            ({"odd-1.0.data/scripts/tooldir": b""}, None),
            ({}, "[console_scripts]\ntooldir = m:f\n"),
        ]
    ):
        path = write_wheel(tmp_path / str(number), "odd", "1.0", files, entry_points=points)
        with_odd = [*archives, _verified(path, "odd")]
        batches = split(with_odd, installed={}, at_once=2, at_most=200, target=target)
        assert batches == [with_odd], files or points
    fine = write_wheel(tmp_path / "fine", "odd", "1.0", {"clash/other.py": b""})
    assert (
        len(
            split(
                [*archives, _verified(fine, "odd")],
                installed={},
                at_once=2,
                at_most=200,
                target=target,
            )
        )
        == 2
    )


def test_wheels_whose_paths_together_would_take_our_memory_are_one_run(tmp_path: Path) -> None:
    # Each wheel's keys are bounded (folders, data paths), and the wheels' members together
    # (MEMBERS_KEPT_AT_MOST), but not what many small wheels of long, deep paths key
    # together: these 40 (680 members, 1.7 MiB) held 200 MB until the batches were made,
    # 1,000 (under 20,000 members, split at any size) gigabytes. Their keys together are
    # bounded too: past that, one run, as for any other wheel too odd to split.
    import tracemalloc

    deep = "a/" * 500
    archives = []
    for i in range(40):
        name = f"deep{i:03d}"
        files = {f"{name}m{j:02d}/{deep}x.py": b"" for j in range(14)}
        archives.append(_verified(write_wheel(tmp_path, name, "1.0", files), name))
    archives = [a.with_facts() for a in archives]
    tracemalloc.start()
    try:
        batches = split(archives, installed={}, at_once=4, at_most=200)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert batches == [archives]
    assert peak < 64 << 20, peak


def test_deep_paths_are_looked_up_in_the_target_in_time(tmp_path: Path) -> None:
    # Each folder a member or script goes through is looked up in the target: joined from
    # its parts again at every depth, a path of n parts cost n**2 steps (200 members of 500
    # parts: 8 s; an entry_points.txt line of 12,000 parts in a section no installer reads:
    # 12 s, of 1 MB: hours) before any installer ran. Under a folder the target lacks there
    # is nothing to look up; past a bound, such a wheel is not split: one run.
    target = probe()
    archives = _many(tmp_path, 30)
    deep = write_wheel(
        tmp_path / "deep", "deep", "1.0", {f"m{j:03d}/{'a/' * 500}x.py": b"" for j in range(200)}
    )
    points = "[other]\n" + "a/" * 12_000 + "b = x\n"
    wordy = write_wheel(tmp_path / "wordy", "wordy", "1.0", {}, entry_points=points)
    # every folder these go through is there (the scripts folder itself, again and again)
    points = "[other]\n" + "".join(f"{'./' * 1900}b{i} = x\n" for i in range(20))
    dotty = write_wheel(tmp_path / "dotty", "dotty", "1.0", {}, entry_points=points)
    for path, name in ((deep, "deep"), (wordy, "wordy"), (dotty, "dotty")):
        with_odd = [*archives, _verified(path, name)]
        started = time.monotonic()
        assert split(with_odd, installed={}, at_once=2, at_most=200, target=target) == [with_odd]
        assert time.monotonic() - started < 2, name
