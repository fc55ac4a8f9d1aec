"""``rcsim sweep --dask ADDRESS``: the grid on an existing Dask cluster gives the same
summaries as a local run for the same seeds; a bad address is one line and exit 2."""

from __future__ import annotations

import json
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from distributed import LocalCluster

from rcsim.cli import main
from tests.conftest import CRASH_CLUSTER, KILL_N1_AND_WAIT

TEXT = "name: s\n" + CRASH_CLUSTER + "steps:\n" + KILL_N1_AND_WAIT + "run_until: 5s\n"
GRID = ["--seeds", "1-3", "--set", "cluster.config.cluster-node-timeout=1000,2000", "--json"]


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    """A real scheduler on a TCP port with one in-process worker (threads, no processes:
    cheap on the 2-core CI), as ``dask scheduler`` + ``dask worker`` would give."""
    with LocalCluster(
        n_workers=1,
        threads_per_worker=2,
        processes=False,
        protocol="tcp://",
        host="127.0.0.1",
        scheduler_port=0,
        dashboard_address=None,
    ) as cluster:
        yield cluster.scheduler_address


@pytest.fixture()
def scenario(tmp_path: Path) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(TEXT, encoding="utf-8")
    return path


def test_a_dask_sweep_gives_what_a_local_sweep_gives(scheduler, scenario, capsys) -> None:
    assert scheduler.startswith("tcp://127.0.0.1:")
    assert main(["sweep", str(scenario), *GRID, "--jobs", "1"]) == 0
    local = json.loads(capsys.readouterr().out)
    assert main(["sweep", str(scenario), *GRID, "--dask", scheduler]) == 0
    remote = json.loads(capsys.readouterr().out)
    assert remote == local
    fast, slow = remote["settings"]
    assert fast["runs"] == slow["runs"] == 3
    assert fast["metrics"]["promoted"]["n"] == 3
    assert slow["metrics"]["first_pfail"]["median"] > fast["metrics"]["first_pfail"]["median"]


def test_a_failed_run_on_dask_still_exits_1(scheduler, tmp_path, capsys) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(TEXT + "expect:\n  - role: {n4: replica}\n", encoding="utf-8")
    assert main(["sweep", str(path), "--seeds", "1-2", "--dask", scheduler]) == 1
    assert "0/2 passed" in capsys.readouterr().out


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(
    ("address", "message"),
    [
        ("nonsense", "not a scheduler address like tcp://host:8786"),
        ("foo://host:1", "not a scheduler address like tcp://host:8786"),
        ("tcp://host", "not a scheduler address like tcp://host:8786"),
    ],
)
def test_a_malformed_address_is_one_line_and_exit_2(scenario, address, message, capsys) -> None:
    assert main(["sweep", str(scenario), "--seeds", "1", "--dask", address]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith(f"rcsim sweep: --dask {address}: {message}")
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err
    assert captured.out == ""


def test_no_scheduler_at_the_address_is_one_line_and_exit_2(scenario, capsys, monkeypatch) -> None:
    monkeypatch.setattr("simulator.harness.sweep.DASK_CONNECT_TIMEOUT_S", 1)
    address = f"tcp://127.0.0.1:{_closed_port()}"
    assert main(["sweep", str(scenario), "--seeds", "1", "--dask", address]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith(f"rcsim sweep: --dask {address}: no Dask scheduler answered")
    assert captured.err.count("\n") == 1
    assert captured.out == ""


def test_jobs_and_dask_together_are_refused(scenario, capsys) -> None:
    assert main(["sweep", str(scenario), "--jobs", "2", "--dask", "tcp://127.0.0.1:8786"]) == 2
    assert "--jobs and --dask: choose one" in capsys.readouterr().err


def test_without_distributed_dask_says_what_to_install(scenario, capsys, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # `import distributed` now fails
    assert main(["sweep", str(scenario), "--seeds", "1", "--dask", "tcp://h:8786"]) == 2
    assert capsys.readouterr().err == (
        "rcsim sweep: --dask needs the distributed package, which is not installed: "
        "pip install 'rcsim[dask]'\n"
    )
