"""Rewind checkpoints: the model pickled, in this process or in a forked child.

A checkpoint is the model (engine, cluster, add-ons' ``extras``) at one moment, kept so
:meth:`simulator.simulation.Simulation.rewind` can restore it and replay forward. It was
a ``copy.deepcopy`` of the model: about a million objects at 100 nodes, 370–500 ms of CPU
inside the TUI tick that crossed it (so a key waited that long) and as many live objects
kept per checkpoint. Now it is a pickle of the same objects:

- **in this process** (:data:`INLINE`, the default): ``pickle`` writes the model to
  bytes, about half a deep copy's CPU and one bytes object instead of a million objects
  per checkpoint (docs/benchmarks.md has the figures), compressed as it is written
  (:data:`COMPRESS_LEVEL`): a 1,000-node model's pickle is 1.13 GB, which the TUI kept
  (its first checkpoint, at 0 ms, was taken in this process) on top of two transient
  copies (the ``BytesIO`` and its ``getvalue()``): 4.3 GB of RSS before it played a
  millisecond (issue 12); compressed as the pickler writes, no uncompressed copy exists.
  The pickler's memo still holds every temporary it made (each object's reduce tuple and
  state dict) until the dump ends: 2.7 GiB more at 1,000 nodes, and ~800 MiB of it stayed
  in the heap afterwards, so the TUI takes no checkpoint in its own process, not even the
  first (:meth:`Snapshot.kept`, ``Simulation._first_checkpoint``);
- **in the background** (:data:`FORKED`, what the TUI uses): the simulation forks
  (``os.fork``: the child is the model at this moment, copy-on-write, for a few ms of the
  parent's time), the child pickles and compresses it into an anonymous temporary file
  (streamed, as above) and exits, while the parent plays on. The parent keeps no copy:
  the file is on disk, and the pages the parent writes while the child runs are copied
  for the child's sake only (they are freed when it exits). A checkpoint whose child has not finished when
  the next is due makes the simulation skip that one (:attr:`Snapshot.busy`); a rewind
  waits for the child it needs. A child that failed (it writes why into the file) is
  dropped (:class:`CheckpointLost`): the rewind restores an earlier checkpoint and
  replays further, so the past is still exact, only slower to reach.

Restoring unpickles a fresh model each time, decompressing as the unpickler reads. The simulation itself and its trace are
*shared*, never pickled (the trace is append-only and the rewind truncates it): they are
pickled as references (``persistent_id``) and resolved to the live objects on load,
which is what the deep copy's memo did. Everything else in the model must pickle; an
object that does not (a lambda in an add-on, say) makes that checkpoint fall back to the
deep copy (:data:`DEEP_COPY`), so a rewind still works, at the old cost.

The pickler recurses through the object graph (node, socket, peer's socket, peer node,
…, across the whole cluster): it runs in a thread with a large stack and a raised
recursion limit (:data:`STACK_BYTES`), so a 1,000-node model does not overflow it.
"""

from __future__ import annotations

import contextlib
import copy
import gc
import io
import os
import pickle
import signal
import sys
import tempfile
import threading
import warnings
import zlib
from collections.abc import Callable
from typing import IO, Any

from simulator.links.link import DEFER_KEY, DeferredCopies

INLINE = "inline"
FORKED = "forked"
DEEP_COPY = "deep-copy"

STACK_BYTES = 512 << 20
"""The pickling thread's stack (virtual: only the pages it touches are used). A pickle of
a 100-node model nests a few thousand objects deep; C frames of about 100–300 bytes
each."""
RECURSION_LIMIT = 1_000_000
"""Python's recursion limit while pickling (the pickler counts its C recursion against it)."""
COMPRESS_LEVEL = 1
"""zlib level of every pickle: 100 nodes' 17 MB become about a fifth of it (a forked
child's in its own time; an inline one's in this process, about 10 % more CPU)."""
READ_BYTES = 1 << 20
"""Compressed bytes read at a time while restoring."""
FORK_AVAILABLE = hasattr(os, "fork") and sys.platform != "win32"

_OK = b"\x00"  # a forked child's file starts with it when the pickle follows
_WRITING = b"\x01"  # ... and with this while it writes (a child that died leaves it)

Shared = dict[str, object]
"""Objects a checkpoint refers to but never copies, by name (the simulation, the trace)."""


class _Pickler(pickle.Pickler):
    def __init__(self, file: IO[bytes], shared: Shared) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self._names = {id(obj): name for name, obj in shared.items()}

    def persistent_id(self, obj: object) -> str | None:
        return self._names.get(id(obj))


class _Unpickler(pickle.Unpickler):
    def __init__(self, file: IO[bytes], shared: Shared) -> None:
        super().__init__(file)
        self._shared = shared

    def persistent_load(self, pid: object) -> object:
        return self._shared[str(pid)]


def dumps(state: object, shared: Shared) -> bytes:
    """``state`` pickled, with the ``shared`` objects as references (see the module
    docstring); in a thread with a large stack. Raises what the pickler raised."""
    out = io.BytesIO()
    _in_big_stack(lambda: _Pickler(out, shared).dump(state))
    return out.getvalue()


def loads(data: bytes, shared: Shared) -> Any:
    return _Unpickler(io.BytesIO(data), shared).load()


class _Deflate:
    """What the pickler writes, compressed and handed to ``out`` (no uncompressed copy)."""

    def __init__(self, out: Callable[[bytes], object]) -> None:
        self._zlib = zlib.compressobj(COMPRESS_LEVEL)
        self._out = out

    def write(self, data: bytes) -> int:
        chunk = self._zlib.compress(data)
        if chunk:
            self._out(chunk)
        return len(data)

    def finish(self) -> None:
        self._out(self._zlib.flush())


class _Inflate(io.RawIOBase):
    """Reads back what :class:`_Deflate` wrote (from ``source``), decompressed as asked."""

    def __init__(self, source: IO[bytes]) -> None:
        self._source = source
        self._zlib = zlib.decompressobj()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        inflater = self._zlib
        while True:
            data = inflater.unconsumed_tail or (
                b"" if inflater.eof else self._source.read(READ_BYTES)
            )
            if not data:
                if not inflater.eof:
                    raise zlib.error("the compressed pickle ends early")
                return 0
            out = inflater.decompress(data, len(view))
            if out:
                view[: len(out)] = out
                return len(out)


def dump_compressed(state: object, shared: Shared, out: Callable[[bytes], object]) -> None:
    """``state`` pickled (see :func:`dumps`) and compressed, handed to ``out`` in pieces."""
    deflate = _Deflate(out)
    _in_big_stack(lambda: _Pickler(deflate, shared).dump(state))  # type: ignore[arg-type]
    deflate.finish()


def load_compressed(source: IO[bytes], shared: Shared) -> Any:
    """What :func:`dump_compressed` wrote, read from ``source``."""
    return _Unpickler(io.BufferedReader(_Inflate(source), 1 << 16), shared).load()


def _in_big_stack(work: Callable[[], None]) -> None:
    """Run ``work`` in a thread with :data:`STACK_BYTES` of stack, re-raising its error."""
    failure: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as error:  # handed to the caller's thread
            failure.append(error)

    limit = sys.getrecursionlimit()
    size = threading.stack_size()
    sys.setrecursionlimit(max(limit, RECURSION_LIMIT))
    try:
        threading.stack_size(STACK_BYTES)
        thread = threading.Thread(target=run, name="rcsim-checkpoint")
        threading.stack_size(size)
        thread.start()
        thread.join()
    finally:
        sys.setrecursionlimit(limit)
    if failure:
        raise failure[0]


def _quiet_child() -> None:
    """In a forked child: no collections (short-lived; they would copy every page), and
    no Python signal handlers or wakeup fd of the parent's (the TUI's event loop shares
    that fd: a signal the child caught would reach the parent's loop as its own)."""
    gc.disable()
    with contextlib.suppress(ValueError):  # not the main thread: none was set here
        signal.set_wakeup_fd(-1)
    for number in signal.valid_signals():
        with contextlib.suppress(OSError, ValueError):
            if callable(signal.getsignal(number)):
                signal.signal(number, signal.SIG_DFL)


def deep_copy(state: dict[str, Any], shared: Shared) -> dict[str, Any]:
    """The old way, kept for a model that does not pickle: a deep copy sharing ``shared``.
    Sockets leave their other end and their process to a second pass (no deep recursion)."""
    deferred = DeferredCopies()
    memo: dict[int, Any] = {id(obj): obj for obj in shared.values()}
    memo[DEFER_KEY] = deferred
    copied: dict[str, Any] = copy.deepcopy(state, memo)
    deferred.resolve(memo)
    return copied


class Snapshot:
    """One checkpoint's model: pickled bytes, a forked child writing them, or a deep copy."""

    __slots__ = ("_copy", "_data", "_file", "_pid", "kind")

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._data: bytes | None = None  # INLINE
        self._copy: dict[str, Any] | None = None  # DEEP_COPY
        self._file: IO[bytes] | None = None  # FORKED: where the child writes
        self._pid = 0  # FORKED: the child while it runs (0: reaped)

    # ------------------------------------------------------------------ taking

    @classmethod
    def take(cls, state: dict[str, Any], shared: Shared, mode: str) -> Snapshot:
        """The model ``state`` now, as ``mode`` (:data:`INLINE` or :data:`FORKED`) says;
        :data:`FORKED` falls back to :data:`INLINE` where there is no ``fork``, and
        either falls back to :data:`DEEP_COPY` when the model does not pickle."""
        if mode == FORKED and FORK_AVAILABLE:
            return cls._forked(state, shared)
        snapshot = cls(INLINE)
        try:
            parts: list[bytes] = []
            dump_compressed(state, shared, parts.append)
            snapshot._data = b"".join(parts)
        except (pickle.PicklingError, TypeError, AttributeError, RecursionError):
            snapshot.kind = DEEP_COPY
            snapshot._copy = deep_copy(state, shared)
        return snapshot

    @classmethod
    def _forked(cls, state: dict[str, Any], shared: Shared) -> Snapshot:
        snapshot = cls(FORKED)
        file = tempfile.TemporaryFile(prefix="rcsim-checkpoint-")  # noqa: SIM115 (kept open: the snapshot owns it)
        with warnings.catch_warnings():
            # Python 3.12+ warns that forking a process with threads (the TUI's input
            # thread) may deadlock the child if it needs a lock another thread held;
            # the child only pickles, compresses and writes (no import, no Textual).
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
        if pid == 0:  # the child: pickle, write, exit; never return into the caller
            code = 1
            try:
                _quiet_child()
                file.write(_WRITING)
                dump_compressed(state, shared, file.write)
                file.flush()
                file.seek(0)
                file.write(_OK)
                code = 0
            except BaseException as error:
                file.seek(0)
                file.truncate()
                file.write(f"{type(error).__name__}: {error}".encode())
            finally:
                file.flush()
                os._exit(code)
        snapshot._file = file
        snapshot._pid = pid
        return snapshot

    # ------------------------------------------------------------------ state

    @property
    def busy(self) -> bool:
        """A forked child still writing this checkpoint."""
        if not self._pid:
            return False
        try:
            pid, _ = os.waitpid(self._pid, os.WNOHANG)
        except ChildProcessError:  # reaped by someone else: it ended; the file tells how
            pid = self._pid
        if pid == 0:
            return True
        self._pid = 0
        return False

    def _wait(self) -> None:
        if self._pid:
            with contextlib.suppress(ChildProcessError):  # reaped by someone else
                os.waitpid(self._pid, 0)
            self._pid = 0

    def kept(self, state: dict[str, Any], shared: Shared) -> Snapshot:
        """This checkpoint, known good: a forked one is waited for and, if its child did
        not write it (a model that does not pickle, a killed child), replaced by one taken
        in this process (:data:`INLINE`, or the deep copy), ``state`` being the same model,
        unmoved. For a checkpoint that must not be lost: the first one."""
        if self.kind != FORKED:
            return self
        self._wait()
        file = self._file
        if file is not None:
            file.seek(0)
            if file.read(len(_OK)) == _OK:
                return self
        self.close()
        return Snapshot.take(state, shared, INLINE)

    # ------------------------------------------------------------------ restoring

    def restore(self, shared: Shared) -> dict[str, Any]:
        """A fresh copy of the model (waits for a forked child still writing it). Raises
        :class:`CheckpointLost` when a forked child could not write it."""
        if self.kind == DEEP_COPY:
            assert self._copy is not None
            return deep_copy(self._copy, shared)
        if self.kind == INLINE:
            assert self._data is not None
            restored: dict[str, Any] = load_compressed(io.BytesIO(self._data), shared)
            return restored
        self._wait()
        file = self._file
        if file is None:
            raise CheckpointLost("its file was closed")
        file.seek(0)
        head = file.read(len(_OK))
        if head != _OK:
            why = (head + file.read()).decode(errors="replace")
            raise CheckpointLost(
                "the child died while writing"
                if head == _WRITING
                else why or "the child wrote nothing"
            )
        try:
            restored = load_compressed(file, shared)
        except (zlib.error, EOFError, pickle.UnpicklingError) as error:
            raise CheckpointLost(f"its file is incomplete ({error})") from None
        return restored

    def size(self) -> int:
        """Bytes kept for it (0 for a deep copy, which is objects, or a child still writing)."""
        if self.kind == INLINE:
            return len(self._data or b"")
        if self.kind == FORKED and self._file is not None and not self.busy:
            return os.fstat(self._file.fileno()).st_size
        return 0

    def close(self) -> None:
        """Drop it: stop a child still writing (the result is not wanted) and free the file."""
        if self._pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._pid, signal.SIGKILL)
            self._wait()
        if self._file is not None:
            self._file.close()
            self._file = None
        self._data = None
        self._copy = None

    def __del__(self) -> None:
        if self._pid:  # never leave a zombie behind
            with contextlib.suppress(Exception):  # at interpreter exit ``os`` may be gone
                self.close()


class CheckpointLost(Exception):
    """A forked child did not write its checkpoint (it failed or was killed)."""
