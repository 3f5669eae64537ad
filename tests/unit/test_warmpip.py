"""pip started ahead: it runs the command it is given as ``python -m pip`` would, or nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support.builders import make_venv, pip_copy, site_packages
from support.peeprun import reading_its_pipe, wait_for

from peep_setuptools.installing.children import (
    Child,
    ChildRun,
    pip_runner,
    run_all,
    start_forwarding,
)
from peep_setuptools.installing.sources import child_env
from peep_setuptools.installing.warmpip import WarmStarts

PIP = [sys.executable, "-m", "pip"]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in child_env().items() if not k.startswith("PIP_")}
    return {**env, "PIP_CONFIG_FILE": os.devnull, **extra}


def _warm(
    workdir: Path,
    count: int = 1,
    env: dict[str, str] | None = None,
    program: list[str] = PIP,
) -> WarmStarts:
    workdir.mkdir(exist_ok=True)
    warm = WarmStarts.start(program, env or _env(), str(workdir), False, count)
    assert warm is not None
    return warm


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_warm_pip_runs_what_it_is_given_with_its_environment(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    warm = _warm(tmp_path / "work")
    # a variable of pip's, set only for this run, reaches pip: `pip config debug` shows it
    env = _env(PIP_TIMEOUT="7")
    run = ChildRun([*PIP, "config", "debug"], (), env)
    try:
        run_all([run], workdir=str(tmp_path / "work"), action="install", out=False, ahead=warm)
    finally:
        warm.close()
    out = capfd.readouterr().out
    assert "PIP_TIMEOUT='7'" in out


def test_the_exit_code_and_the_output_are_pips(tmp_path: Path) -> None:
    workdir = tmp_path / "work"
    argv = ["install", "--no-index", "--no-deps", "nothing-of-that-name==1"]
    plain = subprocess.run(
        [*PIP, *argv], env=_env(), capture_output=True, text=True, cwd=str(tmp_path)
    )
    warm = _warm(workdir)
    try:
        child = warm.take(
            ChildRun([*PIP, *argv], (), _env()), str(workdir / "installer-cwd"), False
        )
        assert child is not None
        assert child.wait() == plain.returncode != 0
    finally:
        warm.close()


def test_only_a_run_of_its_program_and_start_up_environment_is_taken(tmp_path: Path) -> None:
    workdir = tmp_path / "work"
    warm = _warm(workdir)
    cwd = str(workdir / "installer-cwd")
    try:
        other_program = ChildRun([sys.executable, "-c", "pass"], (), _env())
        assert warm.take(other_program, cwd, False) is None
        # what Python reads as it starts cannot be changed once it has
        other_start = ChildRun([*PIP, "--version"], (), _env(PYTHONOPTIMIZE="1"))
        assert warm.take(other_start, cwd, False) is None
        assert warm.take(ChildRun([*PIP, "--version"], (), _env()), cwd, True) is None
        assert warm.take(ChildRun([*PIP, "--version"], (), _env()), str(tmp_path), False) is None
        child = warm.take(ChildRun([*PIP, "--version"], (), _env()), cwd, False)
        assert child is not None and child.wait() == 0
        assert warm.take(ChildRun([*PIP, "--version"], (), _env()), cwd, False) is None  # none left
    finally:
        warm.close()


def test_its_command_line_shows_nothing_of_the_run(tmp_path: Path) -> None:
    # what it is given (index URLs, a netrc's path) goes through a pipe, not /proc/PID/cmdline
    warm = _warm(tmp_path / "work")
    try:
        child = warm._waiting[0][0]
        cmdline = Path(f"/proc/{child.process.pid}/cmdline").read_bytes()
        assert b"install" not in cmdline.split(b"\0")
    finally:
        warm.close()


def test_those_never_given_a_run_are_stopped_having_run_nothing(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    warm = _warm(tmp_path / "work", count=2)
    pids = [child.process.pid for child, _ in warm._waiting]
    warm.close()
    assert not any(_alive(pid) for pid in pids)
    assert capfd.readouterr() == ("", "")


def test_an_interrupt_while_waiting_prints_no_traceback(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    warm = _warm(tmp_path / "work")
    child = warm._waiting[0][0]
    try:
        time.sleep(0.5)  # into its warm-up or its wait
        child.process.send_signal(signal.SIGINT)
        assert child.wait() == -signal.SIGINT
    finally:
        warm.close()
    assert "Traceback" not in capfd.readouterr().err


def test_a_pipe_closed_without_a_command_exits_quietly(tmp_path: Path) -> None:
    # our process gone (killed): its end of the pipe closes, and the waiting pip leaves
    warm = _warm(tmp_path / "work")
    child, ours = warm._waiting.pop()
    os.close(ours)
    assert child.wait() == 0


def test_a_dead_warm_pip_is_passed_over(tmp_path: Path) -> None:
    workdir = tmp_path / "work"
    warm = _warm(workdir)
    child = warm._waiting[0][0]
    child.process.kill()
    child.process.wait()
    try:
        cwd = str(workdir / "installer-cwd")
        assert warm.take(ChildRun([*PIP, "--version"], (), _env()), cwd, False) is None
    finally:
        warm.close()


def test_no_warm_start_for_another_program(tmp_path: Path) -> None:
    our_pip_run_by_us = [sys.executable, "-m", "pip", "--python", sys.executable]
    assert WarmStarts.start(our_pip_run_by_us, _env(), str(tmp_path), False, 2) is None
    assert WarmStarts.start([sys.executable, "-c", "pass"], _env(), str(tmp_path), False, 2) is None
    assert WarmStarts.start(PIP, _env(), str(tmp_path), False, 0) is None


def test_in_a_target_without_pip_our_pip_runs_as_its_runner_runs_it(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    runner = pip_runner()
    assert runner is not None
    target = make_venv(tmp_path / "target")  # no pip of its own
    # a pip where only a .pth file puts it: the runner never imports it, nor may the warm-up
    other, telltale = tmp_path / "other", tmp_path / "other-pip-imported"
    (other / "pip").mkdir(parents=True)
    (other / "pip" / "__init__.py").write_text(f"open({str(telltale)!r}, 'w').close()\n")
    (site_packages(target) / "other.pth").write_text(f"{other}\n")
    program = [str(target), runner]
    argv = ["list", "--format", "json", "--disable-pip-version-check"]
    cold = subprocess.run([*program, "--version"], env=_env(), capture_output=True, text=True)
    listed = subprocess.run([*program, *argv], env=_env(), capture_output=True, text=True)
    assert cold.returncode == listed.returncode == 0, cold.stderr + listed.stderr
    got = []
    for args in (["--version"], argv):
        workdir = tmp_path / f"work-{len(got)}"
        warm = _warm(workdir, program=program)
        try:
            run = ChildRun([*program, *args], (), _env())
            child = warm.take(run, str(workdir / "installer-cwd"), False)
            assert child is not None
            assert child.wait() == 0
        finally:
            warm.close()
        got.append(capfd.readouterr().out)
    assert got == [cold.stdout, listed.stdout]
    assert runner.rpartition(os.sep)[0] in cold.stdout  # our pip, from beside the runner
    assert not telltale.exists()


def test_only_the_variables_its_run_has_otherwise_are_changed(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    # a variable of pip's that it started with but its run has not is gone; the rest stays
    warm = _warm(tmp_path / "work", env=_env(PIP_RETRIES="9"))
    run = ChildRun([*PIP, "config", "debug"], (), _env(PIP_TIMEOUT="7"))
    try:
        run_all([run], workdir=str(tmp_path / "work"), action="install", out=False, ahead=warm)
    finally:
        warm.close()
    out = capfd.readouterr().out
    assert "PIP_TIMEOUT='7'" in out and "PIP_RETRIES" not in out


def test_a_command_cut_short_runs_nothing_and_prints_no_traceback(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    # our process killed as it wrote: the interpreter reads half a message, then the end
    warm = _warm(tmp_path / "work")
    child, ours = warm._waiting.pop()
    start_forwarding(child.process, child.forwarders)
    os.write(ours, b'{"argv": ["--version"], "set": {')
    os.close(ours)
    assert child.wait() == 1
    assert capfd.readouterr() == ("", "")


def test_one_started_ignoring_interrupts_ignores_them_as_python_m_pip_would(
    tmp_path: Path,
) -> None:
    # peep started ignoring SIGINT (a script's background job: ``peep install ... &``): the
    # pip it runs ignores it too, and must not stop half-way through an install for it
    fifo = tmp_path / "reqs.txt"
    os.mkfifo(fifo)  # pip blocks opening it until we do
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        warm = _warm(tmp_path / "work")
    finally:
        signal.signal(signal.SIGINT, previous)
    cwd = str(tmp_path / "work" / "installer-cwd")
    try:
        time.sleep(0.5)  # waiting for its command line
        warm._waiting[0][0].process.send_signal(signal.SIGINT)
        run = ChildRun([*PIP, "install", "--no-index", "-r", str(fifo)], (), _env())
        child = warm.take(run, cwd, False)
        assert child is not None
        time.sleep(0.5)  # running pip
        child.process.send_signal(signal.SIGINT)
        time.sleep(0.5)
        assert child.process.poll() is None
        _open_for_writing(fifo, child.process)  # no requirement: nothing to do, pip ends
        assert child.wait() == 0  # not cancelled (pip's exit 1) or killed
    finally:
        warm.close()


def _open_for_writing(fifo: Path, reader: subprocess.Popen[bytes]) -> None:
    """Open and close ``fifo`` once ``reader`` has opened it; kill ``reader`` if it never does."""
    for _ in range(1200):
        try:
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
            return
        except OSError:  # not opened yet
            if reader.poll() is not None:
                return
            time.sleep(0.05)
    reader.kill()  # the test fails rather than hangs


def test_one_handed_its_run_as_an_interrupt_comes_is_stopped_with_the_others(
    tmp_path: Path,
) -> None:
    # an interrupt just after a warm pip took its run, before run_all holds it as running:
    # neither run_all nor close() would stop it, and it would install after we stopped
    fifo = tmp_path / "reqs.txt"
    os.mkfifo(fifo)  # pip blocks opening it: it is still running when we look
    warm = _warm(tmp_path / "work")
    taken: list[Child] = []

    class Interrupted:
        def take(self, run: ChildRun, cwd: str, out: bool) -> Child | None:
            child = warm.take(run, cwd, out)
            assert child is not None
            taken.append(child)
            raise KeyboardInterrupt

    run = ChildRun([*PIP, "install", "--no-index", "-r", str(fifo)], (), _env())
    try:
        with pytest.raises(KeyboardInterrupt):
            run_all(
                [run],
                workdir=str(tmp_path / "work"),
                action="install",
                out=False,
                ahead=Interrupted(),
            )
    finally:
        warm.close()
        still = [c.process for c in taken if c.process.poll() is None]
        for process in still:
            process.kill()
            process.wait()
    assert taken and not still


def test_an_interrupt_as_one_starts_leaves_none_waiting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # an interrupt once a waiting pip started, before it is held: before, its pipe stayed
    # open and it waited for as long as we ran, stopped by no close()
    from peep_setuptools.installing import warmpip

    spawned: list[subprocess.Popen[bytes]] = []

    def interrupted(process: subprocess.Popen[bytes], *args: object) -> Child:
        spawned.append(process)
        raise KeyboardInterrupt

    monkeypatch.setattr(warmpip, "Child", interrupted)
    (tmp_path / "work").mkdir()
    with pytest.raises(KeyboardInterrupt):
        WarmStarts.start(PIP, _env(), str(tmp_path / "work"), False, 1)
    assert spawned
    try:
        assert spawned[0].wait(timeout=20) == 0  # it read the end of its pipe and left
    finally:
        spawned[0].kill()
        spawned[0].wait()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_as_one_starts_stops_it_before_we_go_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, signum: int
) -> None:
    # Ctrl-C (or a SIGTERM, under terminate_like_ctrl_c) right after a waiting pip started,
    # before it was held: it waits until it is held, which close() then stops. Before, it
    # left on its own once it saw the end of its pipe, after we had exited (found under load)
    from peep_setuptools.errors import Terminated, terminate_like_ctrl_c
    from peep_setuptools.installing import warmpip

    spawned: list[subprocess.Popen[bytes]] = []
    real_spawn = warmpip.spawn

    def signalled(*args: object, **options: object) -> object:
        started = real_spawn(*args, **options)  # type: ignore[arg-type]
        spawned.append(started[0])
        signal.raise_signal(signum)
        return started

    monkeypatch.setattr(warmpip, "spawn", signalled)
    (tmp_path / "work").mkdir()
    with pytest.raises((KeyboardInterrupt, Terminated)), terminate_like_ctrl_c():
        WarmStarts.start(PIP, _env(), str(tmp_path / "work"), False, 1)
    assert spawned
    assert spawned[0].poll() == -signal.SIGKILL  # stopped, and waited for, by close()


def _upgraded(pip: Path, code: str) -> None:
    """pip's ``__init__.py`` replaced by a new file (as an upgrade writes it) that runs ``code``."""
    new = pip / "__init__.py.new"
    new.write_text((pip / "__init__.py").read_text() + code)
    os.replace(new, pip / "__init__.py")


def _imported(warm: WarmStarts) -> Child:
    """Its one interpreter, once it has imported pip and waits for its run."""
    ((child, _),) = warm._waiting
    fd = int(child.process.args[3])  # type: ignore[index]
    assert wait_for(lambda: reading_its_pipe(child.process.pid, fd))
    return child


@pytest.mark.parametrize("mode", ["python -m pip", "runner"])
def test_a_pip_upgraded_while_it_waited_runs_as_the_upgraded_pip(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], mode: str
) -> None:
    # its modules imported before, those imported later (pip.__main__) would be of two pips
    target = make_venv(tmp_path / "target")
    if mode == "runner":
        pip = pip_copy(tmp_path / "ours")
        program = [str(target), str(pip / "__pip-runner__.py")]
    else:
        pip = pip_copy(site_packages(target))
        program = [str(target), "-m", "pip"]
    warm = _warm(tmp_path / "work", program=program)
    try:
        _imported(warm)
        _upgraded(pip, '\n__version__ = "99.0"\n')
        run = ChildRun([*program, "--version"], (), _env())
        child = warm.take(run, str(tmp_path / "work" / "installer-cwd"), False)
        assert child is not None and child.wait() == 0
    finally:
        warm.close()
    cold = subprocess.run([*program, "--version"], env=_env(), capture_output=True, text=True)
    assert cold.stdout.startswith("pip 99.0 from ")
    assert capfd.readouterr() == (cold.stdout, cold.stderr)


def test_a_runner_gone_while_it_waited_fails_as_python_given_it_does(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    target = make_venv(tmp_path / "target")
    runner = pip_copy(tmp_path / "ours") / "__pip-runner__.py"
    program = [str(target), str(runner)]
    warm = _warm(tmp_path / "work", program=program)
    try:
        _imported(warm)
        runner.unlink()
        run = ChildRun([*program, "--version"], (), _env())
        child = warm.take(run, str(tmp_path / "work" / "installer-cwd"), False)
        assert child is not None
        code = child.wait()
    finally:
        warm.close()
    cold = subprocess.run([*program, "--version"], env=_env(), capture_output=True, text=True)
    assert code == cold.returncode == 2  # "can't open file", no traceback
    assert capfd.readouterr() == (cold.stdout, cold.stderr)


_FAILING_MAIN = """
import os, sys

class FailingMain:  # pip's __main__ found failing: the exception comes out of the runner
    @staticmethod
    def find_spec(name, path=None, target=None):
        if name == "pip.__main__":
            raise {"interrupt": KeyboardInterrupt, "error": RuntimeError}[os.environ["FAIL"]]()

sys.meta_path.insert(0, FailingMain)
"""


@pytest.mark.parametrize("failure", ["error", "interrupt"])
@pytest.mark.parametrize("mode", ["python -m pip", "runner"])
def test_what_pip_raises_ends_it_as_python_ends_a_cold_run(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], mode: str, failure: str
) -> None:
    # the traceback python prints (none of this script's lines in it), its exit code, or
    # for an interrupt nothing caught, the signal that ends it
    target = make_venv(tmp_path / "target")
    site = site_packages(target)
    (site / "failing_main.py").write_text(_FAILING_MAIN)
    (site / "failing_main.pth").write_text("import failing_main\n")
    if mode == "runner":
        program = [str(target), str(pip_copy(tmp_path / "ours") / "__pip-runner__.py")]
    else:
        pip_copy(site)
        program = [str(target), "-m", "pip"]
    env = _env(FAIL=failure)
    cold = subprocess.run([*program, "--version"], env=env, capture_output=True, text=True)
    assert cold.returncode == (-signal.SIGINT if failure == "interrupt" else 1)
    warm = _warm(tmp_path / "work", env=env, program=program)
    try:
        run = ChildRun([*program, "--version"], (), env)
        child = warm.take(run, str(tmp_path / "work" / "installer-cwd"), False)
        assert child is not None
        assert child.wait() == cold.returncode
    finally:
        warm.close()
    assert capfd.readouterr() == (cold.stdout, cold.stderr)


@pytest.mark.parametrize("stop", [KeyboardInterrupt, SystemExit])
def test_a_second_interrupt_as_they_are_stopped_stops_them_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stop: type[BaseException]
) -> None:
    # Ctrl-C again as close() stopped the first of those waiting: it went out of close()
    # with that one's pipe still open and the others not stopped, all waiting for as long
    # as we ran. SystemExit: what the handler of a program calling the api raises (sys.exit)
    def interrupted(signum: int, frame: object) -> None:
        raise stop

    warm = _warm(tmp_path / "work", count=2)
    spawned = [child.process for child, _ in warm._waiting]
    real_killpg = os.killpg
    signalled: list[int] = []

    def killpg(pid: int, number: int) -> None:
        try:
            real_killpg(pid, number)
        finally:
            if not signalled:
                signalled.append(pid)
                signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr(os, "killpg", killpg)
    previous = signal.signal(signal.SIGINT, interrupted)
    try:
        with pytest.raises(stop):
            warm.close()
        monkeypatch.undo()
        # (one killed as the interrupt came is not waited for: it may take a moment to end)
        assert [process.wait(timeout=10) for process in spawned] == [-signal.SIGKILL] * 2
    finally:
        signal.signal(signal.SIGINT, previous)
        for process in spawned:
            process.kill()
            process.wait()
