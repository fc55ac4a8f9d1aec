"""``make fast``: compile :data:`simulator.compiled.COMPILED` with mypyc into ``build/fast``.

``python -m simulator.compiled_build [build|check] [DIR]``. mypyc ships with mypy (the
dev extra), and needs a C compiler and Python's headers. The C sources, objects and
mypy's cache stay in the build directory too; the manifest, written last, records the
SHA-256 of every source the build read (:func:`simulator.compiled.source_closure`), so
:func:`simulator.compiled.check` can refuse the build once any of them changes.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from simulator.compiled import (
    COMPILED,
    DEFAULT_DIR,
    ENV,
    FORMAT,
    GROUP,
    MANIFEST,
    ROOT,
    Build,
    build_dir,
    check,
    ext_suffix,
    module_path,
    sha256,
    source_closure,
)

_SETUP = """
import sys
from setuptools import setup
from mypyc.build import mypycify
paths, target, lib, temp, group = sys.argv[1].split(","), *sys.argv[2:6]
setup(
    name="rcsim-fast",
    ext_modules=mypycify(paths, target_dir=target, group_name=group, opt_level="3"),
    script_args=["build_ext", "--build-lib", lib, "--build-temp", temp],
)
"""


@contextmanager
def _locked(directory: Path) -> Iterator[None]:
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one build at a time (xdist workers, make)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def build(directory: Path = DEFAULT_DIR, force: bool = True) -> Build:
    """Compile :data:`COMPILED` into ``directory`` (the old build is removed first) and
    record what it was built from; ``force=False`` keeps a current build. mypyc's output
    goes to ``directory/build.log``. Raises ``RuntimeError`` (with the log's end) when
    the compile fails."""
    directory = directory.resolve()
    with _locked(directory):
        current, _ = check(directory)
        if current is not None and not force:
            return current
        (directory / MANIFEST).unlink(missing_ok=True)
        shutil.rmtree(directory / "lib", ignore_errors=True)
        sources = source_closure()
        before = {s: sha256(ROOT / s) for s in sources}
        paths = [str(module_path(name)) for name in COMPILED]
        env = {**os.environ, "MYPY_CACHE_DIR": str(directory / "mypy-cache")}
        env.pop(ENV, None)
        result = subprocess.run(
            [sys.executable, "-c", _SETUP, ",".join(paths), str(directory / "c"),
             str(directory / "lib"), str(directory / "temp"), GROUP],
            cwd=directory, env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        log = result.stdout + result.stderr
        (directory / "build.log").write_text(log, encoding="utf-8")
        if result.returncode != 0:
            raise RuntimeError(f"mypyc failed ({directory / 'build.log'}):\n{log[-3000:]}")
        after = {s: sha256(ROOT / s) for s in sources}
        if after != before:
            changed = sorted(s for s in sources if before[s] != after[s])
            raise RuntimeError(f"sources changed during the build: {', '.join(changed)}")
        suffix = ext_suffix()
        extensions = {name: str(Path("lib", *name.split("."))) + suffix for name in COMPILED}
        extensions[f"{GROUP}__mypyc"] = f"lib/{GROUP}__mypyc{suffix}"
        manifest = {
            "format": FORMAT,
            "ext_suffix": suffix,
            "python": sys.version.split()[0],
            "mypy": _mypy_version(),
            "compiled": list(COMPILED),
            "extensions": extensions,
            "sources": before,
        }
        tmp = directory / (MANIFEST + ".tmp")
        tmp.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        tmp.replace(directory / MANIFEST)  # written last: a half build has no manifest
    current, reason = check(directory)
    if current is None:
        raise RuntimeError(f"the build in {directory} is not usable: {reason}")
    return current


def ensure_built(directory: Path = DEFAULT_DIR) -> Build:
    """The current build in ``directory``, building it first if it is missing or stale."""
    current, _ = check(directory)
    return current if current is not None else build(directory, force=False)


def _mypy_version() -> str:
    try:
        from mypy.version import __version__
    except ImportError:  # pragma: no cover - the build needs mypy anyway
        return "unknown"
    return str(__version__)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    usage = "usage: python -m simulator.compiled_build [build|check] [DIR]  (default build/fast)"
    if not args:
        args = ["build"]
    if args[0] not in ("build", "check") or len(args) > 2:
        sys.stderr.write(usage + "\n")
        return 2
    directory = Path(args[1]) if len(args) == 2 else build_dir()
    if args[0] == "check":
        current, reason = check(directory)
        print(f"current: {directory}" if current else f"not usable: {reason}")
        return 0 if current else 1
    try:
        build(directory, force=False)  # a current build is kept
    except RuntimeError as error:
        sys.stderr.write(f"make fast: {error}\n")
        return 1
    print(f"{directory}: {len(COMPILED)} compiled modules, current; run them with {ENV}=1")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
