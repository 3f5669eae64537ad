"""End to end: ``peep install`` against the loopback index, into real virtual environments."""

from __future__ import annotations

import os
import subprocess

import pytest
from support.builders import installed, make_venv, origin, pip, write_wheel
from support.peeprun import describe

from peep_setuptools.hashes import hash_file
from peep_setuptools.installing.report import MISMATCH_HEAD, MISSING_HEAD, NOT_PROCEEDING
from peep_setuptools.requirements.lines import parse_reqfile
from peep_setuptools.requirements.spec import ReqLine

pytestmark = pytest.mark.slow


def test_peep_format_installs_the_pinned_version_not_the_newer_decoy(
    peep, venv, write, packages, index, telltale
):
    reqs = write("reqs.txt", f"{packages.peep('alpha-1.0')}\nalpha==1.0\n")
    peep.install(reqs, "-i", index.index_url, check=0)
    assert installed(venv)["alpha"] == "1.0"
    assert not telltale.exists()


def test_pip_format_installs_a_verified_sdist(peep, venv, write, packages, index, telltale):
    reqs = write("reqs.txt", f"beta==1.0 {packages.pip('beta-1.0')}\n")
    done = peep.install(reqs, "-i", index.index_url, check=0)
    assert installed(venv)["beta"] == "1.0"
    assert telltale.read_text() == "beta ran\n" * telltale.read_text().count("beta ran")
    assert "WITHOUT hash checking" in done.stdout + done.stderr


def test_mixed_formats_and_several_hashes_per_requirement(peep, venv, write, packages, index):
    reqs = write(
        "reqs.txt",
        f"# pinned the peep way\n{packages.peep('alpha-1.0')}\n\nalpha==1.0\n"
        f"delta==1.0 \\\n    {packages.pip('delta-1.0-win')} \\\n    {packages.pip('delta-1.0')}\n",
    )
    peep.install(reqs, "-i", index.index_url, check=0)
    got = installed(venv)
    assert (got["alpha"], got["delta"]) == ("1.0", "1.0")


def test_a_comment_cannot_widen_a_pip_pin(peep, venv, write, packages, index, env, tmp_path):
    # The served alpha matches only the comment's hash; pip reads the file as pinned to
    # the --hash value alone and refuses it, so peep must not install it either.
    other = packages.sha256("alpha-2.0")
    text = (
        f"# Reviewed pins.\n#   sha256: {packages.sha256('alpha-1.0').b64}\n#\n\n"
        f"alpha==1.0 {other.pip_option()}\n"
    )
    reqs = write("reqs.txt", text)
    done = peep.install(reqs, "-i", index.index_url, check=2)
    assert done.stderr.strip().endswith(
        f"{reqs}:5: 'alpha==1.0' has --hash options and '# sha256:' lines above it "
        f"(at {reqs}:2): pip allows only the --hash values, peep would allow the comment's "
        "hashes too; write this requirement's hashes one way only"
    )
    assert "alpha" not in installed(venv)
    done = pip(env, venv, "install", "--no-deps", "-i", index.index_url, "-r", reqs)
    assert done.returncode != 0 and "THESE PACKAGES DO NOT MATCH THE HASHES" in done.stderr
    assert "alpha" not in installed(venv)


def test_missing_hash_prints_the_lines_to_add_and_installs_nothing(
    peep, venv, write, packages, index
):
    reqs = write("reqs.txt", f"{packages.peep('alpha-1.0')}\nalpha==1.0\ndelta==1.0\n")
    done = peep.install(reqs, "-i", index.index_url, check=1)
    assert MISSING_HEAD in done.stdout
    assert f"{packages.peep('delta-1.0')}\ndelta==1.0\n" in done.stdout
    assert f"# from {reqs}:3" in done.stdout
    assert done.stdout.rstrip().endswith(NOT_PROCEEDING)
    assert "alpha" not in installed(venv)


def test_missing_hash_in_pip_format_file_is_shown_in_pip_format(peep, venv, write, packages, index):
    reqs = write("reqs.txt", f"alpha==1.0 {packages.pip('alpha-1.0')}\ndelta==1.0\n")
    done = peep.install(reqs, "-i", index.index_url, check=1)
    assert f"delta==1.0 {packages.pip('delta-1.0')}" in done.stdout


def test_mismatch_prints_the_fearsome_block_and_no_code_runs(
    peep, venv, write, packages, index, telltale
):
    wrong = packages.sha256("alpha-1.0")
    reqs = write(
        "reqs.txt",
        f"{packages.peep('alpha-1.0')}\nalpha==1.0\n# sha256: {wrong.b64}\nbeta==1.0\n",
    )
    done = peep.install(reqs, "-i", index.index_url, check=1)
    assert MISMATCH_HEAD in done.stdout
    assert f"    beta: expected {wrong.b64}\n" in done.stdout
    assert f"got {packages.sha256('beta-1.0').b64}" in done.stdout
    assert NOT_PROCEEDING in done.stdout
    assert not telltale.exists()
    assert "alpha" not in installed(venv)


def test_mismatch_with_several_expected_hashes_in_pip_format(peep, venv, write, packages, index):
    a, b = packages.sha256("alpha-1.0"), packages.sha256("delta-1.0-win")
    reqs = write("reqs.txt", f"beta==1.0 {a.pip_option()} {b.pip_option()}\n")
    done = peep.install(reqs, "-i", index.index_url, check=1)
    assert f"    beta: expected one of sha256:{a.hex}\n" in done.stdout
    assert f"got sha256:{packages.sha256('beta-1.0').hex}" in done.stdout


def test_missing_and_mismatched_together_are_both_reported(peep, venv, write, packages, index):
    reqs = write("reqs.txt", f"alpha==1.0\nbeta==1.0 {packages.pip('alpha-1.0')}\n")
    done = peep.install(reqs, "-i", index.index_url, check=1)
    assert MISMATCH_HEAD in done.stdout and MISSING_HEAD in done.stdout
    assert done.stdout.index(MISMATCH_HEAD) < done.stdout.index(MISSING_HEAD)


def test_version_not_on_the_index_is_named_with_its_line(peep, venv, write, packages, index):
    reqs = write("reqs.txt", f"{packages.peep('alpha-1.0')}\nalpha==9.9\n")
    done = peep.install(reqs, "-i", index.index_url, check=1)
    assert f"{reqs}:2: alpha==9.9 not found on {index.index_url}" in done.stdout
    assert installed(venv).get("alpha") is None


def test_requires_python_excluding_the_target_means_no_file(peep, venv, write, packages, index):
    reqs = write("reqs.txt", f"zeta==1.0 {packages.pip('zeta-1.0')}\n")
    done = peep.install(reqs, "-i", index.index_url, check=1)
    assert f"{reqs}:1: zeta==1.0 has no file that fits" in done.stdout


def test_index_url_inside_the_file_and_extra_index(peep, venv, write, packages, index):
    reqs = write(
        "reqs.txt",
        f"--index-url {index.index_url}\n--extra-index-url {index.url}/other/\n"
        f"alpha==1.0 {packages.pip('alpha-1.0')}\nepsilon==1.0 {packages.pip('epsilon-1.0')}\n",
    )
    peep.install(reqs, check=0)
    assert installed(venv)["epsilon"] == "1.0"


def test_includes_and_markers(peep, venv, write, packages, index):
    write("sub/more.txt", f"delta==1.0 {packages.pip('delta-1.0')}\n")
    reqs = write(
        "reqs.txt",
        f"-r sub/more.txt\nalpha==1.0 {packages.pip('alpha-1.0')}\n"
        f'beta==1.0 ; python_version < "3" {packages.pip("beta-1.0")}\n',
    )
    done = peep.install(reqs, "-i", index.index_url, check=0)
    got = installed(venv)
    assert (got["alpha"], got["delta"]) == ("1.0", "1.0")
    assert "beta" not in got
    assert "markers do not apply" in done.stdout


def test_url_requirement_and_same_version_url_upgrade(peep, venv, write, packages, index, tmp_path):
    reqs = write("reqs.txt", f"alpha==1.0 {packages.pip('alpha-1.0')}\n")
    peep.install(reqs, "-i", index.index_url, check=0)
    variant = write_wheel(
        tmp_path / "variant",
        "alpha",
        "1.0",
        {"alpha/__init__.py": b"VERSION = '1.0'\nORIGIN = 'url'\n"},
    )
    url = index.add_file("alpha", variant, index="variant")
    pin = hash_file(str(variant))["sha256"]
    reqs = write("url.txt", f"{pin.peep_line()}\n{url}#egg=alpha\n")
    peep.install(reqs, check=0)
    assert origin(venv, "alpha") == "url"


def test_local_archive_path_requirement(peep, venv, write, packages):
    reqs = write("reqs.txt", f"{packages['alpha-1.0']} {packages.pip('alpha-1.0')}\n")
    peep.install(reqs, "--no-index", check=0)
    assert installed(venv)["alpha"] == "1.0"


def test_setup_py_sdist_builds_with_backend_from_the_index(
    peep, venv, write, packages, index, telltale
):
    reqs = write("reqs.txt", f"{packages.peep('gamma-1.0')}\ngamma==1.0\n")
    done = peep.install(reqs, "-i", index.index_url, check=0)
    assert installed(venv)["gamma"] == "1.0"
    assert "gamma ran" in telltale.read_text()
    assert "WITHOUT hash checking" in done.stdout + done.stderr


def test_only_binary_refuses_sdists(peep, venv, write, packages, index, telltale):
    reqs = write("reqs.txt", f"beta==1.0 {packages.pip('beta-1.0')}\n")
    done = peep.install(reqs, "-i", index.index_url, "--only-binary", ":all:", check=1)
    assert "beta==1.0 has no file that fits" in done.stdout
    assert not telltale.exists()


def test_dry_run_verifies_and_installs_nothing(peep, venv, write, packages, index):
    reqs = write("reqs.txt", f"alpha==1.0 {packages.pip('alpha-1.0')}\n")
    done = peep.install(reqs, "-i", index.index_url, "--dry-run", check=0)
    assert "not installing (--dry-run)" in done.stdout
    assert "alpha" not in installed(venv)


def test_already_installed_is_skipped_without_fetching(peep, venv, write, packages, index):
    reqs = write("reqs.txt", f"alpha==1.0 {packages.pip('alpha-1.0')}\n")
    peep.install(reqs, "-i", index.index_url, check=0)
    index.clear_requests()
    done = peep.install(reqs, "-i", index.index_url, check=0)
    assert "Skipping alpha==1.0: already installed." in done.stdout
    assert not [r for r in index.requests if "alpha" in r.path]


def test_force_reinstall_fetches_again(peep, venv, write, packages, index):
    reqs = write("reqs.txt", f"alpha==1.0 {packages.pip('alpha-1.0')}\n")
    peep.install(reqs, "-i", index.index_url, check=0)
    done = peep.install(reqs, "-i", index.index_url, "--force-reinstall", check=0)
    assert "Skipping" not in done.stdout


def test_target_with_its_own_pip(peep, tmp_path, write, packages, index):
    python = make_venv(tmp_path / "withpip", with_pip=True)
    reqs = write("reqs.txt", f"alpha==1.0 {packages.pip('alpha-1.0')}\n")
    peep.install(reqs, "-i", index.index_url, python=python, check=0)
    assert installed(python)["alpha"] == "1.0"


def test_ported_file_installs_with_plain_pip_require_hashes(
    peep, venv, write, packages, index, env, tmp_path
):
    reqs = write("reqs.txt", f"{packages.peep('alpha-1.0')}\nalpha==1.0\n")
    ported = peep("port", reqs, check=0).stdout
    assert f"alpha==1.0 {packages.pip('alpha-1.0')}" in ported
    args = ("install", "--require-hashes", "--no-deps", "-i", index.index_url)
    done = pip(env, venv, *args, "-r", write("ported.txt", ported))
    assert done.returncode == 0, describe(done)
    assert installed(venv)["alpha"] == "1.0"


def test_hash_command(peep, packages, tmp_path):
    alpha, beta = packages["alpha-1.0"], packages["beta-1.0"]
    done = peep("hash", str(alpha), str(beta), check=0)
    # several files: each line names its file in a trailing comment
    assert done.stdout == (
        f"{packages.peep('alpha-1.0')}  # {alpha.name}\n"
        f"{packages.peep('beta-1.0')}  # {beta.name}\n"
    )
    # ... and stays paste-ready: both hashes are allowed for the requirement below them
    text = done.stdout + "alpha==1.0\n"
    (line,) = [e for e in parse_reqfile(text, path="r.txt") if isinstance(e, ReqLine)]
    assert line.digests == (packages.sha256("alpha-1.0"), packages.sha256("beta-1.0"))
    done = peep("hash", "--format", "pip", str(alpha), check=0)
    assert done.stdout == f"{packages.pip('alpha-1.0')}\n"
    # pip's format stays bare: pip would strip a comment with the hashes after it
    done = peep("hash", "--format", "pip", str(alpha), str(beta), check=0)
    assert done.stdout == f"{packages.pip('alpha-1.0')}\n{packages.pip('beta-1.0')}\n"
    done = peep("hash", str(tmp_path / "nope.whl"), check=1)
    assert "nope.whl" in done.stderr


@pytest.mark.parametrize(
    ("text", "code", "message"),
    [
        ("alpha>=1.0\n", 2, ":1: 'alpha>=1.0' is not pinned"),
        ("# sha256: tooshort\nalpha==1.0\n", 1, ":1:"),
        ("-e ./src\n", 2, ":1:"),
        ("-c constraints.txt\n", 2, ":1:"),
    ],
)
def test_bad_files_exit_with_file_and_line(peep, venv, write, text, code, message):
    reqs = write("reqs.txt", text)
    done = peep.install(reqs, "--no-index", check=code)
    assert reqs + message in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    "args",
    [("install",), ("frobnicate",), ("install", "-r"), ("install", "-r", "x", "--bogus"), ()],
)
def test_usage_errors_exit_2_with_usage(peep, args):
    done = peep(*args, check=2)
    assert "usage: peep" in done.stderr


@pytest.mark.parametrize("variable", ["PIP_PYTHON", "PIP_PREFIX", "PIP_ROOT", "PIP_TARGET"])
def test_pip_variables_that_install_elsewhere_do_not_reach_pip(
    peep, venv, write, packages, variable, tmp_path
):
    # the install goes where peep probed and checked, not where pip would be sent instead
    elsewhere = tmp_path / "elsewhere"
    other = make_venv(elsewhere) if variable == "PIP_PYTHON" else elsewhere
    peep.env[variable] = str(other)
    reqs = write("reqs.txt", f"{packages['alpha-1.0']} {packages.pip('alpha-1.0')}\n")
    peep.install(reqs, "--no-index", check=0)
    assert installed(venv)["alpha"] == "1.0"
    assert not list(elsewhere.rglob("alpha*")), list(elsewhere.rglob("alpha*"))


def test_python_given_as_a_relative_path(peep, venv, write, packages, index):
    reqs = write("reqs.txt", f"alpha==1.0 {packages.pip('alpha-1.0')}\n")
    relative = venv.relative_to(peep.cwd)
    peep.install(reqs, "-i", index.index_url, python=relative, check=0)
    assert installed(venv)["alpha"] == "1.0"


@pytest.mark.parametrize("closed", [">&-", "2>&-", "<&- >&- 2>&-"])
def test_a_closed_stdout_or_stderr_is_no_bug(peep, venv, write, packages, closed):
    # `peep install ... >&-` (a cron job's, a daemon's): what would have gone there is
    # dropped, as a shell's own commands do; the run is the same (it was exit 3 or 1).
    reqs = write("reqs.txt", f"{packages['alpha-1.0']} {packages.pip('alpha-1.0')}\n")
    wrap = ["sh", "-c", f'exec "$@" {closed}', "sh"]
    peep(*peep.install_args(reqs, "--no-index"), wrap=wrap, check=0)
    assert installed(venv)["alpha"] == "1.0"


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")
def test_output_that_cannot_be_written_ends_the_run_as_python_would(peep, venv, write, packages):
    # stdout on a full disk: the install goes on (stopping at a message could leave it half
    # done) and the exit is 120 with one line, as Python's own exit is; it was a traceback
    reqs = write("reqs.txt", f"{packages['alpha-1.0']} {packages.pip('alpha-1.0')}\n")
    wrap = ["sh", "-c", 'exec "$@" >/dev/full', "sh"]
    done = peep(*peep.install_args(reqs, "--no-index", "-v"), wrap=wrap, check=120)
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().endswith(
        "peep: error: the output could not all be written (stdout: No space left on device)"
    )
    assert installed(venv)["alpha"] == "1.0"


@pytest.mark.parametrize("both", [False, True])
def test_a_reader_that_left_is_no_bug(peep, venv, write, packages, both):
    # `peep install ... | head -1` (or `2>&1 | head -1`): once the reader has left, what
    # would have gone there is dropped and the run goes on (it was exit 3 at the next line).
    reqs = write("reqs.txt", f"{packages['alpha-1.0']} {packages.pip('alpha-1.0')}\n")
    read, write_end = os.pipe()
    os.close(read)
    with os.fdopen(write_end, "wb") as left:
        done = subprocess.run(
            peep.argv(*peep.install_args(reqs, "--no-index")),
            env=peep.env,
            cwd=peep.cwd,
            stdout=left,
            stderr=left if both else subprocess.PIPE,
            text=True,
            timeout=600,
            check=False,
        )
    assert (done.returncode, done.stderr or "") == (0, ""), done.stderr
    assert installed(venv)["alpha"] == "1.0"


def test_the_installer_s_output_that_cannot_be_written_ends_the_run_as_ours_does(
    peep, venv, write, packages
):
    # the terminal goes (its window closed: EIO) after our first line, while the installer
    # runs: what it prints cannot be written either, and the exit is 120 as when our own
    # output cannot be (it was 0: what passes the installer's output on dropped it silently)
    import pty

    reqs = write("reqs.txt", f"{packages['alpha-1.0']} {packages.pip('alpha-1.0')}\n")
    terminal, stdout = pty.openpty()
    proc = subprocess.Popen(
        peep.argv(*peep.install_args(reqs, "--no-index")),
        env=peep.env,
        cwd=peep.cwd,
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
    )
    os.close(stdout)
    seen = b""
    while b"\n" not in seen:
        seen += os.read(terminal, 4096)
    os.close(terminal)
    assert seen.startswith(b"Fetched alpha-1.0"), seen  # ours; the installer's comes later
    _, errors = proc.communicate(timeout=600)
    done = peep.checked(subprocess.CompletedProcess(proc.args, proc.returncode, "", errors), 120)
    assert done.stderr == (
        "peep: error: the output could not all be written (stdout: Input/output error)\n"
    )
    assert installed(venv)["alpha"] == "1.0"
