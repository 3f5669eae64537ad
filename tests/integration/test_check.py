"""Dependency completeness: install refuses (--allow-incomplete warns), peep check, --fix."""

from __future__ import annotations

import zipfile

import pytest
from support.builders import installed, make_wheel

from peep_setuptools.installing.report import LOCK_ONLY

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def deps(publish, tmp_path_factory):
    root = tmp_path_factory.mktemp("f7check")
    files = {
        "app": make_wheel(
            root,
            "f7c-app",
            "1.0",
            requires_dist=[
                "f7c-lib>=1.0",
                'f7c-never; python_version < "3"',
                'f7c-extra; extra == "more"',
            ],
        ),
        "lib-1.0": make_wheel(root, "f7c-lib", "1.0"),
        "lib-1.1": make_wheel(root, "f7c-lib", "1.1"),
        "lib-2.0a1": make_wheel(root, "f7c-lib", "2.0a1"),
        "extra": make_wheel(root, "f7c-extra", "1.0"),
    }
    return publish(files)


def _refusal(index, lines):
    """The report's block for f7c-app needing f7c-lib, with the lines to add."""
    return (
        "The following dependencies are not in the requirements files. peep installs with\n"
        "--no-deps, so without them the installed code would fail (pip refuses such files too):"
        "\n\n" + "".join(f"    {line}\n" for line in lines) + "\n"
        "Vet them to your satisfaction, then add these lines (or run 'peep check --fix';\n"
        "--allow-incomplete installs without them). Trust on first use: these are the hashes\n"
        f"of the newest fitting version's files as {index.index_url} serves them today:\n"
    )


REFUSED = (
    "peep: error: 1 dependency is missing from the requirements files; nothing was installed "
    "(--allow-incomplete installs anyway)\n"
)


def test_install_refuses_a_missing_dependency_with_the_line_to_add(peep, venv, write, deps, index):
    write("reqs.txt", f"f7c-app==1.0 {deps['app'].pip_option()}\n")
    done = peep.install("reqs.txt", "-i", index.index_url, check=1)
    needs = "f7c-app==1.0 requires f7c-lib>=1.0, which is not in reqs.txt (reqs.txt:1)"
    assert done.stdout.endswith(
        _refusal(index, [needs]) + f"\n# to reqs.txt\nf7c-lib==1.1 {deps['lib-1.1'].pip_option()}\n"
        "\n-------------------------------\nNot proceeding to installation.\n"
    ), done.stdout
    assert done.stderr == REFUSED
    assert "f7c-never" not in done.stdout and "f7c-extra" not in done.stdout
    assert installed(venv) == {}
    # --require-complete is the default now, still accepted
    again = peep.install("reqs.txt", "-i", index.index_url, "--require-complete", check=1)
    assert again.stdout.splitlines()[1:] == done.stdout.splitlines()[1:]  # Cached, not Fetched
    done = peep("check", "-r", "reqs.txt", "-i", index.index_url, check=1)
    assert needs in done.stdout
    assert done.stderr == (
        "peep: error: 1 dependency is missing from the requirements files; "
        "'peep check --fix' adds them\n"
    )


def test_allow_incomplete_installs_with_the_warning(peep, venv, write, deps, index):
    write("reqs.txt", f"f7c-app==1.0 {deps['app'].pip_option()}\n")
    done = peep.install("reqs.txt", "-i", index.index_url, "--allow-incomplete", check=0)
    assert (
        "Vet them, then add them with\n'peep check --fix' or 'peep add NAME==VERSION':\n\n"
        "    f7c-app==1.0 requires f7c-lib>=1.0, which is not in reqs.txt (reqs.txt:1)\n"
    ) in done.stdout
    assert installed(venv)["f7c-app"] == "1.0"
    both = peep.install("reqs.txt", "--allow-incomplete", "--require-complete", check=2)
    assert "not allowed with argument" in both.stderr


def test_a_missing_hash_and_a_missing_dependency_in_one_report_extras_kept(
    peep, venv, write, deps, index
):
    write("reqs.txt", f"{deps['app'].peep_line()}\nf7c-app[more]==1.0\nf7c-extra==1.0\n")
    done = peep.install("reqs.txt", "-i", index.index_url, check=1)
    assert (
        'add these "sha256" lines like so:\n\n# from reqs.txt:3\n'
        f"{deps['extra'].peep_line()}\nf7c-extra==1.0\n\n"
        + _refusal(
            index,
            ["f7c-app[more]==1.0 requires f7c-lib>=1.0, which is not in reqs.txt (reqs.txt:2)"],
        )
        + f"\n# to reqs.txt\n{deps['lib-1.1'].peep_line()}\nf7c-lib==1.1\n\n"
    ) in done.stdout
    assert done.stderr == (
        "peep: error: verification failed (1 had no hashes; 1 dependency is missing from the "
        "requirements files); nothing was installed\n"
    )
    assert installed(venv) == {}


def test_a_dependency_installed_but_not_pinned_is_a_note_as_in_pip(peep, venv, write, deps, index):
    write("lib.txt", f"f7c-lib==1.0 {deps['lib-1.0'].pip_option()}\n")
    peep.install("lib.txt", "-i", index.index_url, check=0)
    write("reqs.txt", f"f7c-app==1.0 {deps['app'].pip_option()}\n")
    done = peep.install("reqs.txt", "-i", index.index_url, check=0)
    assert (
        "These dependencies are not in the requirements files, but what is installed satisfies "
        "them\n(pip accepts that too; peep did not verify their files):\n\n"
        "    f7c-app==1.0 requires f7c-lib>=1.0, which is not in reqs.txt; f7c-lib 1.0 is "
        "installed (reqs.txt:1)\n"
    ) in done.stdout
    assert installed(venv)["f7c-app"] == "1.0"


def test_pinned_outside_the_specifier_is_reported(peep, write, deps, index):
    reqs = write(
        "reqs.txt",
        f"f7c-app==1.0 {deps['app'].pip_option()}\nf7c-lib==0.5 {deps['lib-1.0'].pip_option()}\n",
    )
    # lib==0.5 does not exist: check fails on the lookup, naming it
    done = peep("check", "-r", reqs, "-i", index.index_url, check=1)
    assert "f7c-lib==0.5" in done.stdout + done.stderr


def test_check_fix_appends_the_newest_fitting_version_with_its_hashes(peep, write, deps, index):
    reqs = write("reqs.txt", f"# mine\nf7c-app==1.0 {deps['app'].pip_option()}\n")
    done = peep("check", "-r", reqs, "-i", index.index_url, "--fix", check=0)
    out = done.stdout + done.stderr
    assert "trust on first use" in out and "+f7c-lib==1.1" in out
    with open(reqs, encoding="utf-8") as f:
        text = f.read()
    assert text == (
        f"# mine\nf7c-app==1.0 {deps['app'].pip_option()}\n"
        f"f7c-lib==1.1 {deps['lib-1.1'].pip_option()}\n"
    )
    peep("check", "-r", reqs, "-i", index.index_url, check=0)


def test_check_of_a_complete_file_names_it_and_no_dry_run(peep, write, deps, index):
    write(
        "reqs.txt",
        f"f7c-app==1.0 {deps['app'].pip_option()}\nf7c-lib==1.1 {deps['lib-1.1'].pip_option()}\n",
    )
    done = peep("check", "-r", "reqs.txt", "-i", index.index_url, check=0)
    assert done.stdout.endswith(
        "All 2 archives match their hashes.\nEvery dependency is in reqs.txt.\n"
    ), done.stdout
    # the file filters choose what --fix hashes; markers stay this interpreter's, and it says so
    done = peep(
        "check", "-r", "reqs.txt", "-i", index.index_url, "--platform", "win_amd64", check=0
    )
    assert done.stdout.startswith(
        "Note: --platform, --python-version and --implementation choose the files whose hashes "
        "--fix writes;\nmarkers and dependencies are evaluated for this interpreter.\n"
    ), done.stdout


def test_lock_files_are_checked_and_never_edited_in_place(peep, write, deps, index, tmp_path):
    write(
        "reqs.txt",
        f"f7c-app==1.0 {deps['app'].pip_option()}\nf7c-lib==1.1 {deps['lib-1.1'].pip_option()}\n",
    )
    write("app.txt", f"f7c-app==1.0 {deps['app'].pip_option()}\n")
    port = ("port", "--to", "pylock", "-i", index.index_url)
    peep(*port, "reqs.txt", "-o", "pylock.toml", check=0)
    peep(*port, "app.txt", "-o", "pylock.app.toml", check=0)
    done = peep("check", "-r", "pylock.toml", "-i", index.index_url, check=0)
    assert done.stdout.endswith("Every dependency is in pylock.toml.\n"), done.stdout
    done = peep("check", "-r", "pylock.app.toml", "-i", index.index_url, check=1)
    assert (
        "    f7c-app==1.0 requires f7c-lib>=1.0, which is not in pylock.app.toml "
        "(pylock.app.toml: packages[0].wheels[0])\n"
    ) in done.stdout, done.stdout
    assert (
        f"\n# f7c-lib: {LOCK_ONLY}\n{deps['lib-1.1'].peep_line()}\nf7c-lib==1.1\n"
    ) in done.stdout, done.stdout
    lock = (tmp_path / "pylock.app.toml").read_bytes()
    for command, args in (
        ("check --fix", ("check", "--fix", "-r", "pylock.app.toml")),
        ("add --missing", ("add", "--missing", "-r", "pylock.app.toml")),
        ("add", ("add", "f7c-lib", "-r", "pylock.app.toml")),
        ("upgrade", ("upgrade", "-r", "pylock.app.toml")),
    ):
        done = peep(*args, "-i", index.index_url, check=2)
        assert done.stderr == (
            f"peep: error: peep {command} does not edit pylock.app.toml: {LOCK_ONLY}\n"
        )
    assert (tmp_path / "pylock.app.toml").read_bytes() == lock


def test_check_and_verify_say_there_is_nothing_to_check(peep, venv, write, deps):
    write("reqs.txt", f"f7c-app==1.0; python_version < '3' {deps['app'].pip_option()}\n")
    done = peep("check", "-r", "reqs.txt", check=0)
    assert done.stdout.endswith(
        "Nothing to check: no requirement applies to this interpreter.\n"
    ), done.stdout
    done = peep("verify", "-r", "reqs.txt", "--python", str(venv), check=0)
    assert done.stdout.endswith(
        "Nothing to verify: no requirement applies to this interpreter.\n"
    ), done.stdout
    assert "install" not in done.stdout


def test_a_metadata_given_twice_is_read_as_pip_installs_it(peep, write, publish, index, tmp_path):
    """Of two METADATA entries pip reads, and leaves installed, the last: so does the check.

    Read first, the empty one hid the wheel's Requires-Dist: "Every dependency is in
    reqs.txt", and the installed wheel failed ``pip check``.
    """
    path = make_wheel(tmp_path, "f7c-twice", "1.0", requires_dist=["f7c-lib>=1.0"])
    with zipfile.ZipFile(path) as wheel:
        members = [(info, wheel.read(info)) for info in wheel.infolist()]
    with zipfile.ZipFile(path, "w") as wheel, pytest.warns(UserWarning):  # "Duplicate name"
        wheel.writestr(
            "f7c_twice-1.0.dist-info/METADATA",
            "Metadata-Version: 2.1\nName: f7c-twice\nVersion: 1.0\n",
        )
        for info, data in members:
            wheel.writestr(info, data)
    digest = publish({"twice": path})["twice"]
    write("reqs.txt", f"f7c-twice==1.0 {digest.pip_option()}\n")
    done = peep("check", "-r", "reqs.txt", "-i", index.index_url, check=1)
    assert "f7c-twice==1.0 requires f7c-lib>=1.0, which is not in reqs.txt" in done.stdout
