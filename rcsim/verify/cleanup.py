"""Everything ``rcsim verify`` starts is undone: processes stopped by their PID, iptables
rules removed, temporary directories deleted, on every exit path.

A :class:`Cleanup` is a stack of undo actions. :meth:`Cleanup.close` runs them newest
first and may be re-entered (a second Ctrl-C during cleanup continues where the first
left off, because each action is popped before it runs). :meth:`Cleanup.guard` installs
SIGINT/SIGTERM handlers that turn either signal into ``KeyboardInterrupt`` (so the
``finally`` that calls :meth:`close` runs), and defers a signal that arrives while a
process is being started until it has been registered, so no PID is ever missed.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from types import FrameType
from typing import Any

UndoAction = Callable[[], None]


class Cleanup:
    """A stack of undo actions; :meth:`close` runs them all, newest first, exactly once."""

    def __init__(self) -> None:
        self._actions: list[tuple[str, UndoAction]] = []
        self._critical = 0
        self._pending: int | None = None
        self.errors: list[str] = []

    def push(self, label: str, action: UndoAction) -> None:
        self._actions.append((label, action))

    def pending_labels(self) -> list[str]:
        return [label for label, _ in self._actions]

    def close(self) -> None:
        """Run every undo action (newest first); failures are collected, not raised.

        Signals are deferred meanwhile (the run is ending anyway), so no undo action is
        cut in half."""
        self._critical += 1
        try:
            while self._actions:
                label, action = self._actions.pop()
                try:
                    action()
                except Exception as error:  # cleanup must go on whatever one action does
                    self.errors.append(f"{label}: {error}")
        finally:
            self._critical -= 1
            self._pending = None

    # ------------------------------------------------------------------ processes

    def spawn(self, argv: Sequence[str], **popen: Any) -> subprocess.Popen[bytes]:
        """Start a process and register its stop (SIGKILL by PID, then reap) atomically
        with respect to SIGINT/SIGTERM."""
        with self.critical():
            process = subprocess.Popen(list(argv), **popen)
            self.push(f"process {process.pid} ({os.path.basename(argv[0])})", lambda: stop(process))
        return process

    @contextmanager
    def critical(self) -> Iterator[None]:
        """A section a signal must not interrupt; the signal takes effect at its end."""
        self._critical += 1
        try:
            yield
        finally:
            self._critical -= 1
        if self._critical == 0 and self._pending is not None:
            self._pending = None
            raise KeyboardInterrupt

    # ------------------------------------------------------------------ signals

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        if self._critical:
            self._pending = signum
            return
        raise KeyboardInterrupt

    @contextmanager
    def guard(self) -> Iterator[Cleanup]:
        """SIGINT/SIGTERM raise ``KeyboardInterrupt``; every exit path runs :meth:`close`."""
        previous = {
            signum: signal.signal(signum, self._on_signal)
            for signum in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            yield self
        finally:
            try:
                self.close()
            finally:
                for signum, handler in previous.items():
                    signal.signal(signum, handler)


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop one process by its PID (SIGKILL works on a SIGSTOPped process too) and reap it."""
    if process.poll() is None:
        with suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
