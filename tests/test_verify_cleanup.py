"""rcsim verify's cleanup stack: undo actions run newest first, once, and a SIGINT or
SIGTERM at any moment leaves no process behind (dummy ``sleep`` processes stand in for
the servers; no real server is started by the unit suite)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from rcsim.verify.cleanup import Cleanup

ROOT = Path(__file__).resolve().parent.parent

CHILD = textwrap.dedent(
    """
    import sys, time
    from rcsim.verify.cleanup import Cleanup

    cleanup = Cleanup()
    try:
        with cleanup.guard():
            for _ in range(3):
                cleanup.spawn(["sleep", "300"])
            cleanup.push("marker", lambda: print("cleaned", flush=True))
            print(" ".join(label.split()[1] for label in cleanup.pending_labels()[:3]), flush=True)
            time.sleep(300)
    except KeyboardInterrupt:
        print("interrupted", flush=True)
        sys.exit(130)
    """
)


def test_undo_actions_run_newest_first_and_once() -> None:
    cleanup = Cleanup()
    done: list[str] = []
    cleanup.push("a", lambda: done.append("a"))
    cleanup.push("b", lambda: done.append("b"))
    cleanup.close()
    cleanup.close()
    assert done == ["b", "a"]


def test_a_failing_undo_action_does_not_stop_the_others() -> None:
    cleanup = Cleanup()
    done: list[str] = []

    def broken() -> None:
        raise RuntimeError("boom")

    cleanup.push("a", lambda: done.append("a"))
    cleanup.push("broken", broken)
    cleanup.close()
    assert done == ["a"]
    assert cleanup.errors == ["broken: boom"]


def test_guard_closes_on_an_exception() -> None:
    cleanup = Cleanup()
    done: list[str] = []
    with pytest.raises(ValueError), cleanup.guard():
        cleanup.push("a", lambda: done.append("a"))
        raise ValueError
    assert done == ["a"]


def test_spawned_processes_are_stopped_by_pid() -> None:
    cleanup = Cleanup()
    process = cleanup.spawn(["sleep", "300"])
    os.kill(process.pid, signal.SIGSTOP)  # a paused server is stopped too
    cleanup.close()
    assert process.returncode == -signal.SIGKILL


def test_a_signal_in_a_critical_section_waits_for_its_end() -> None:
    cleanup = Cleanup()
    reached: list[str] = []
    with pytest.raises(KeyboardInterrupt), cleanup.guard(), cleanup.critical():
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)
        reached.append("end of the section")
    assert reached == ["end of the section"]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is gone for our purpose only once reaped; the child reaps its own.
    status = Path(f"/proc/{pid}/status")
    return status.exists() and "State:\tZ" not in status.read_text()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_leaves_no_process_behind(signum: int) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD], stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT
    )
    try:
        assert child.stdout is not None
        pids = [int(p) for p in child.stdout.readline().split()]
        assert len(pids) == 3 and all(_alive(pid) for pid in pids)
        child.send_signal(signum)
        rest = child.stdout.read()
        assert child.wait(timeout=20) == 130
    finally:
        if child.poll() is None:
            child.kill()
    assert "cleaned" in rest and "interrupted" in rest
    assert not any(_alive(pid) for pid in pids)


SPAWN_LOOP = textwrap.dedent(
    """
    import sys
    from rcsim.verify.cleanup import Cleanup

    cleanup = Cleanup()
    try:
        with cleanup.guard():
            print("ready", flush=True)
            while True:
                cleanup.spawn(["sleep", sys.argv[1]])
    except KeyboardInterrupt:
        sys.exit(130)
    """
)


def _with_token(token: str) -> list[int]:
    """PIDs of live processes whose command line carries ``token``."""
    found: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            state = (entry / "status").read_text()
        except OSError:
            continue
        if token.encode() in cmdline and "State:\tZ" not in state:
            found.append(int(entry.name))
    return found


@pytest.mark.parametrize("delay", [0.0, 0.013, 0.05, 0.2])
def test_interrupt_at_any_moment_of_spawning_leaves_nothing(delay: float) -> None:
    """SIGINT while processes are being started (the moment a PID could be missed)."""
    token = f"300.{os.getpid()}{int(delay * 1000):04d}"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen(
        [sys.executable, "-c", SPAWN_LOOP, token], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        time.sleep(delay)
        child.send_signal(signal.SIGINT)
        assert child.wait(timeout=30) == 130
    finally:
        if child.poll() is None:
            child.kill()
    assert _with_token(token) == []
