"""Progress output: a live line on a terminal only, a line per file otherwise, none with -q."""

from __future__ import annotations

import io
import pty

import pytest

from peep_setuptools.installing.progress import LineProgress, LiveProgress, human_size


def test_not_a_terminal_gives_one_plain_line_per_file(peep, venv, write, packages, index):
    reqs = write("reqs.txt", f"{packages.peep('alpha-1.0')}\nalpha==1.0\n")
    done = peep.install(reqs, "-i", index.index_url, "--dry-run", check=0)
    assert f"Fetched {packages['alpha-1.0'].name} (" in done.stdout
    assert "\r" not in done.stdout + done.stderr
    assert "Verifying:" not in done.stdout + done.stderr


def test_verbose_names_each_download_once_with_its_source(peep, venv, write, packages, index):
    write("reqs.txt", f"{packages.peep('alpha-1.0')}\nalpha==1.0\n")
    done = peep.install("reqs.txt", "-i", index.index_url, "--dry-run", "-v", check=0)
    name = packages["alpha-1.0"].name
    # (-v also says which file was chosen and why: that line is not a download)
    fetched = [line for line in done.stdout.splitlines() if f"d {name} (" in line]
    size = human_size(packages["alpha-1.0"].stat().st_size)
    assert len(fetched) == 1, done.stdout
    assert fetched[0].startswith(f"Fetched {name} ({size}) from http://127.0.0.1:"), done.stdout
    assert fetched[0].endswith(name)


def test_quiet_silences_progress(peep, venv, write, packages, index):
    reqs = write("reqs.txt", f"{packages.peep('alpha-1.0')}\nalpha==1.0\n")
    done = peep.install(reqs, "-i", index.index_url, "--dry-run", "-q", check=0)
    assert "Fetched" not in done.stdout
    assert done.stderr == ""


@pytest.mark.skipif(not hasattr(pty, "openpty"), reason="needs a pseudo-terminal")
def test_a_terminal_gets_a_live_line(peep, venv, write, packages, index):
    reqs = write(
        "reqs.txt",
        f"{packages.peep('alpha-1.0')}\nalpha==1.0\ndelta==1.0 {packages.pip('delta-1.0')}\n",
    )
    done = peep.on_terminal(*peep.install_args(reqs, "-i", index.index_url, "--dry-run"), check=0)
    assert "\rVerifying: 2/2 files" in done.stderr
    assert "Fetched" not in done.stdout


def test_live_progress_redraws_in_place():
    out = io.StringIO()
    live = LiveProgress(out)
    live.begin(2)
    live.advance("a-1.0-py3-none-any.whl", 1500, "http://x/a", cached=False)
    live.advance("b-1.0.tar.gz", 2_500_000, "/cache/b", cached=True)
    live.end()
    text = out.getvalue()
    assert text.startswith("\rVerifying: 0/2 files, 0 bytes")
    assert "\rVerifying: 2/2 files, 2.5 MB (1 cached)" in text
    assert text.endswith("\n")


def test_line_progress_names_the_source_when_verbose():
    out = io.StringIO()
    LineProgress(out, verbose=True).advance("a.whl", 999, "http://x/a.whl", cached=False)
    LineProgress(out).advance("b.whl", 1000, "/c/b.whl", cached=True)
    assert (
        out.getvalue() == "Fetched a.whl (999 bytes) from http://x/a.whl\nCached b.whl (1.0 kB)\n"
    )


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (0, "0 bytes"),
        (999, "999 bytes"),
        (1000, "1.0 kB"),
        (23_300_000, "23.3 MB"),
        (5 * 10**12, "5000.0 GB"),
    ],
)
def test_human_size(size, text):
    assert human_size(size) == text
