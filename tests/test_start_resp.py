"""``make run LESSON=real-clients RESP=1`` -> ``rcsim start real-clients --resp``: the
walk-through of issue #15 with nothing but ``make run`` and a real client. Without a
terminal (as here) ``rcsim start --resp`` serves the lesson on sockets, paced to the
wall clock, until Ctrl-C; redis-py talks to it in a separate process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from redis.cluster import ClusterNode, RedisCluster

from rcsim.cli import main
from tests.test_resp_live import free_base

REPO = Path(__file__).resolve().parent.parent


def _start(base: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rcsim",
            "start",
            "real-clients",
            "--resp",
            "--base-port",
            str(base),
        ],
        cwd=REPO,
        stdin=subprocess.DEVNULL,  # no terminal: headless
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def _wait_for_banner(proc: subprocess.Popen[str]) -> list[str]:
    assert proc.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if "Ctrl-C to stop" in line:
            return lines
    proc.kill()
    raise AssertionError(f"no RESP banner; stdout {lines!r}, stderr {proc.communicate()[1]!r}")


def test_start_lesson_with_resp_headless_serves_real_clients() -> None:
    base = free_base(6)
    proc = _start(base)
    try:
        banner = "".join(_wait_for_banner(proc))
        assert "serving real-clients headless" in banner
        assert f"RESP: n1 on 127.0.0.1:{base}" in banner
        assert f"redis-cli -c -p {base}" in banner
        plain = redis.Redis(host="127.0.0.1", port=base, socket_timeout=5)
        assert plain.ping() is True
        plain.close()
        client = RedisCluster(
            startup_nodes=[ClusterNode("127.0.0.1", base)], socket_timeout=5, decode_responses=True
        )
        for i in range(20):  # keys on all three masters: MOVED followed by the client
            assert client.set(f"user:{i}", f"v{i}") is True
        assert [client.get(f"user:{i}") for i in range(20)] == [f"v{i}" for i in range(20)]
        masters = {client.get_node_from_key(f"user:{i}").port for i in range(20)}
        assert masters == {base, base + 1, base + 2}
        client.close()
    finally:
        proc.send_signal(signal.SIGINT)  # Ctrl-C: the lesson's summary, then exit
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert "PASS: " in out and "scenarios/real-clients.yaml" in out


def test_start_with_a_bad_lesson_says_so_once_and_exits_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["start", "no-such-lesson", "--resp"]) == 2
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        "no-such-lesson: no such file or bundled scenario"
    )
    assert "real-clients" in lines[0]  # it names the bundled lessons
    assert "RESP:" not in captured.out and "Traceback" not in captured.err


def test_start_bad_base_port_is_one_clear_message(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["start", "real-clients", "--headless", "--resp", "--base-port", "65533"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--base-port 65533" in err


def test_start_named_lesson_without_resp_runs_it_headless(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["start", "hello-cluster", "--headless"]) == 0
    out = capsys.readouterr().out
    assert "running hello-cluster headless" in out and "scenarios/hello-cluster.yaml" in out


def _make_run(*variables: str) -> str:
    result = subprocess.run(
        ["make", "-n", "run", *variables], cwd=REPO, capture_output=True, text=True, check=True
    )
    lines = [line for line in result.stdout.splitlines() if "rcsim start" in line]
    assert len(lines) == 1, result.stdout
    return " ".join(lines[0].split())


def test_make_run_passes_lesson_and_resp_to_rcsim_start() -> None:
    assert _make_run().endswith("/rcsim start")  # defaults unchanged
    assert _make_run("LESSON=x", "RESP=1").endswith("/rcsim start x --resp")
    assert _make_run("LESSON=x", "RESP=1", "BASE_PORT=7100").endswith(
        "/rcsim start x --resp --base-port 7100"
    )
    assert _make_run("RESP=0").endswith("/rcsim start")
