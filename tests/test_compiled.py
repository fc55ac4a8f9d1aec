"""The mypyc build (``make fast``, simulator/compiled.py): same traces, never stale.

The golden test builds ``build/fast`` when it is missing or stale (a C compiler and
Python's headers are needed, as on every machine this project runs on) and checks
golden digests in a child process that runs the compiled modules — and asserts that it
does run them, so a failed load cannot pass as pure Python.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from simulator.compiled import COMPILED, DIR_ENV, ENV, FORMAT, check, ext_suffix, source_closure
from simulator.compiled_build import ensure_built
from tests.golden_traces import recorded

ROOT = Path(__file__).resolve().parent.parent

# A few of the golden runs (all of them take ~2 min of CPU): failovers, a partition, the
# data plane under a reshard, a lesson at 100+ nodes, and standalone servers (a pure
# subclass of the compiled Node).
GOLDEN = (
    "fidelity/failover/3+2/nt2000/SIGKILL/seed2",
    "fidelity/failover/3+1/nt5000/SIGSTOP/seed3",
    "fidelity/majority-stopped/nt2000/seed1",
    "fidelity/reshard/pipeline10",
    "lesson/big-cluster-reports/seed1",
    "lesson/one-instance-or-cluster/seed1",
    "lesson/replica-migration/seed2",
)


def _child(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    )


def _manifest(directory: Path, sources: dict[str, str]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    manifest = {
        "format": FORMAT,
        "ext_suffix": ext_suffix(),
        "compiled": list(COMPILED),
        "extensions": {},
        "sources": sources,
    }
    (directory / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


def test_a_build_of_other_sources_is_refused_with_one_line(tmp_path: Path) -> None:
    sources = {name: "0" * 64 for name in source_closure()}
    _manifest(tmp_path, sources)
    build, reason = check(tmp_path)
    assert build is None and "changed since the build" in reason
    code = "from simulator.compiled import running_compiled; print(running_compiled())"
    out = _child(code, {ENV: "1", DIR_ENV: str(tmp_path)})
    assert out.stdout.strip() == "False"
    assert out.stderr.count("\n") == 1 and "running pure Python" in out.stderr


def test_no_build_or_not_asked_runs_pure_python(tmp_path: Path) -> None:
    code = "from simulator.compiled import running_compiled; print(running_compiled())"
    missing = _child(code, {ENV: "1", DIR_ENV: str(tmp_path / "none")})
    assert missing.stdout.strip() == "False" and "no compiled build" in missing.stderr
    off = _child(code, {ENV: "0", DIR_ENV: str(tmp_path / "none")})
    assert off.stdout.strip() == "False" and off.stderr == ""


@pytest.mark.xdist_group("compiled")
def test_golden_traces_are_identical_through_the_compiled_build() -> None:
    build = ensure_built()  # builds build/fast first if it is missing or stale
    out = _child(
        f"from tests.compiled_golden import main; main({list(GOLDEN)!r})",
        {ENV: "1", DIR_ENV: str(build.directory)},
    )
    result = json.loads(out.stdout)
    assert result["compiled"], out.stderr  # the child ran the compiled modules
    golden = recorded()
    assert result["digests"] == {name: golden[name] for name in GOLDEN}
    first, replayed = result["rewound"]
    assert first == replayed  # a rewind through a checkpoint replays the same past
    assert result["copy_rebinds"]
