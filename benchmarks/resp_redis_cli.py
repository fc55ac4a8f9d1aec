"""The real ``redis-cli`` (Debian's redis-tools) against ``rcsim run --resp``: the lesson.

Starts ``rcsim run real-clients --resp --base-port N`` and runs, as a learner
would: the SUBSCRIBE / PUBLISH / PSUBSCRIBE exchange, ``redis-cli -c`` across the
three masters, ``redis-cli --cluster check`` and ``--cluster info``, then stops the
master that serves a key (``SHUTDOWN``, as the TUI's crash would) and shows the same
``redis-cli -c`` being redirected to the promoted replica. Prints a markdown transcript
(pasted into docs/resp.md). Exit 1 if an expected output is missing.

    python -m benchmarks.resp_redis_cli [--base-port 7000]
"""

from __future__ import annotations

import argparse
import os
import pty
import re
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LESSON = ROOT / "scenarios" / "real-clients.yaml"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


class Transcript:
    def __init__(self) -> None:
        self.parts: list[str] = []
        self.missing: list[str] = []

    def note(self, text: str) -> None:
        self.parts.append(text + "\n")

    def block(self, command: str, output: str) -> None:
        self.parts.append(f"```console\n$ {command}\n{output.rstrip()}\n```\n")

    def expect(self, output: str, *needles: str) -> None:
        for needle in needles:
            if needle not in output:
                self.missing.append(needle)


def cli(*args: str, timeout: float = 10) -> str:
    done = subprocess.run(
        ["redis-cli", *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    return ANSI.sub("", done.stdout + done.stderr)


def shown(*args: str) -> str:
    return "redis-cli " + " ".join(f"'{a}'" if "*" in a or " " in a else a for a in args)


def run_cli(t: Transcript, *args: str, expect: tuple[str, ...] = ()) -> str:
    output = cli(*args)
    t.block(shown(*args), output)
    t.expect(output, *expect)
    return output


PROMPT = re.compile(rb"(\d+\.\d+\.\d+\.\d+:\d+|not connected)> $")


def interactive(t: Transcript, port: int, commands: list[str], expect: tuple[str, ...]) -> str:
    """An interactive ``redis-cli -c`` session (on a pseudo-terminal, TERM=dumb), as
    typed by a learner: only then does redis-cli print its ``-> Redirected`` lines."""
    master, slave = pty.openpty()
    process = subprocess.Popen(
        ["redis-cli", "-c", "-p", str(port)],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        close_fds=True,
        env={**os.environ, "TERM": "dumb"},
    )
    os.close(slave)
    out = b""

    def until_prompt(start: int) -> None:
        nonlocal out
        deadline = time.monotonic() + 10
        while not PROMPT.search(out[start:]) and time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.05)
            if ready:
                out += os.read(master, 4096)

    until_prompt(0)
    for command in commands:
        start = len(out)
        os.write(master, command.encode() + b"\n")
        until_prompt(start)
    process.terminate()
    process.wait(5)
    os.close(master)
    text = ANSI.sub("", out.decode("utf-8", "replace").replace("\r\n", "\n"))
    t.block(f"redis-cli -c -p {port}", text.rstrip())
    t.expect(text, *expect)
    return text


def subscriber(*args: str, check: tuple[str, ...]) -> subprocess.Popen[str]:
    """A subscribing redis-cli in the background, once ``PUBSUB check...`` on its node
    counts it (so the publish that follows cannot come first)."""
    process = subprocess.Popen(
        ["redis-cli", *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    port = args[args.index("-p") + 1]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        counts = cli("-p", port, "PUBSUB", *check).split()
        if counts and counts[-1] != "0":
            break
        time.sleep(0.02)
    return process


def stop(process: subprocess.Popen[str], needle: str) -> str:
    """The subscriber's output once ``needle`` (the message) arrived, then Ctrl-C."""
    assert process.stdout is not None
    fd = process.stdout.fileno()
    out = b""
    deadline = time.monotonic() + 10
    while needle.encode() not in out and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            out += chunk
    process.terminate()
    process.wait(5)
    return ANSI.sub("", out.decode("utf-8", "replace"))


def wait_until(check: str, base: int, timeout: float = 30) -> None:
    """Poll a node's ``CLUSTER NODES`` until ``check`` appears in it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check in cli("-p", str(base), "CLUSTER", "NODES"):
            return
        time.sleep(0.2)
    raise SystemExit(f"timed out waiting for {check!r}")


def lesson(base: int) -> Transcript:
    t = Transcript()
    p0, p1, p2 = (str(base + i) for i in range(3))
    t.note("#### Pub/sub with redis-cli\n")
    exchanges = (
        (
            ("-p", p2, "SUBSCRIBE", "news"),
            ("NUMSUB", "news"),
            ("-p", p0, "PUBLISH", "news", "hello"),
        ),
        (
            ("-p", p1, "PSUBSCRIBE", "user:*"),
            ("NUMPAT",),
            ("-p", p0, "PUBLISH", "user:1000", "logged-in"),
        ),
        (
            ("-c", "-p", p1, "SSUBSCRIBE", "orders"),
            ("SHARDNUMSUB", "orders"),
            ("-c", "-p", p0, "SPUBLISH", "orders", "paid"),
        ),
    )
    for sub_args, check, pub_args in exchanges:
        process = subscriber(*sub_args, check=check)
        published = cli(*pub_args)
        message = pub_args[-1]
        output = stop(process, message)
        t.block(shown(*sub_args) + "   # terminal 1, then Ctrl-C", output)
        t.block(shown(*pub_args) + "   # terminal 2", published)
        kind = {"SUBSCRIBE": "message", "PSUBSCRIBE": "pmessage", "SSUBSCRIBE": "smessage"}
        t.expect(output, kind[sub_args[-2]], message)
    t.note("#### redis-cli -c across the three masters\n")
    interactive(
        t,
        base,
        ["SET user:1000 alice", "SET user:1001 bob", "SET user:1003 carol", "GET user:1001"],
        expect=("Redirected to slot [5712]", '"bob"'),
    )
    run_cli(t, "-p", p0, "MSET", "user:1000", "a", "user:1001", "b", expect=("CROSSSLOT",))
    run_cli(t, "-p", p0, "CLUSTER", "KEYSLOT", "user:1001", expect=("5712",))
    run_cli(
        t,
        "--cluster",
        "check",
        f"127.0.0.1:{p0}",
        expect=("All nodes agree about slots configuration", "All 16384 slots covered"),
    )
    run_cli(t, "--cluster", "info", f"127.0.0.1:{p0}", expect=("3 masters",))

    t.note("#### A master goes down, the client is redirected\n")
    node_id = cli("-p", p1, "CLUSTER", "MYID").strip()
    run_cli(t, "-p", p1, "SHUTDOWN", "NOSAVE")
    run_cli(t, "-p", p1, "PING", expect=("Connection refused",))
    wait_until(f"{node_id} 127.0.0.1:{p1}@{base + 10001} master,fail", base)
    wait_until(f"127.0.0.1:{base + 4}@{base + 10004} master ", base)
    interactive(
        t,
        base,
        ["GET user:1001"],
        expect=(f"Redirected to slot [5712] located at 127.0.0.1:{base + 4}", '"bob"'),
    )
    run_cli(t, "-p", p0, "CLUSTER", "NODES", expect=("master,fail",))
    run_cli(t, "--cluster", "check", f"127.0.0.1:{p0}", expect=("All 16384 slots covered",))
    return t


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base-port", type=int, default=7000)
    args = parser.parse_args(argv)
    if shutil.which("redis-cli") is None:
        sys.stderr.write("redis-cli not found: apt-get install redis-tools\n")
        return 2
    base = args.base_port
    server = subprocess.Popen(
        [sys.executable, "-m", "rcsim", "run", str(LESSON), "--resp", "--base-port", str(base)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
    )
    try:
        assert server.stdout is not None
        banner = [server.stdout.readline() for _ in range(7)]
        if not banner[-1].startswith("simulated time follows"):
            sys.stderr.write("".join(banner))
            return 1
        transcript = lesson(base)
    finally:
        server.send_signal(2)
        try:
            server.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    print(f"```console\n$ rcsim run real-clients --resp --base-port {base}")
    print("".join(banner).rstrip() + "\n```\n")
    print("\n".join(transcript.parts))
    if transcript.missing:
        sys.stderr.write(f"missing from the output: {transcript.missing}\n")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
