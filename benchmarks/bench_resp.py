"""Requests per second through the RESP front (``--resp``), next to a real redis-server.

One redis-py client sends SET/GET pairs, one at a time, to one master of a simulated
3-master cluster (keys it owns: no redirects) served by :class:`rcsim.resp_server.RespFront`
paced to the wall clock in a background thread; then the same loop against a real
``redis-server`` (Debian's redis-server, started here on a free port, no persistence).
The ratio is what the simulation costs per request. While the load runs, the pacer
records how far simulated time fell behind the wall clock (its worst lag) and where it
ended (drift). Skipped when redis-server or redis-py is missing.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import threading
import time

from benchmarks.common import table

REQUESTS = 4000  # SET + GET = 2 requests per round
ROUNDS = REQUESTS // 2


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _free_base(count: int) -> int:
    """Free ports below Linux's ephemeral range (where client ports come from) and
    away from 7000-7399 (real Redis instances run there)."""
    for base in range(30000, 32000, 16):
        held = []
        try:
            for port in range(base, base + count):
                s = socket.socket()
                held.append(s)
                s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for s in held:
                s.close()
    raise RuntimeError("no free port range")


def _load(port: int, keys: list[str]) -> float:
    """Seconds for ROUNDS of SET + GET from one redis-py connection."""
    import redis

    client = redis.Redis("127.0.0.1", port)
    client.ping()
    start = time.perf_counter()
    for i in range(ROUNDS):
        key = keys[i % len(keys)]
        client.set(key, "v")
        client.get(key)
    elapsed = time.perf_counter() - start
    client.close()
    return elapsed


def _rcsim() -> tuple[float, int, int]:
    """(seconds, worst lag ms, final drift ms) through the RESP front."""
    from rcsim.resp_server import RespFront
    from simulator.dataplane import install
    from simulator.simulation import Simulation
    from simulator.slots import key_hash_slot

    sim = Simulation(masters=3, replicas=1, seed=1, checkpoint_ms=10**15)
    install(sim)
    base = _free_base(len(sim.cluster.nodes))
    front = RespFront(sim, base)
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    stop_holder: list[asyncio.Event] = []

    async def main() -> None:
        stop = asyncio.Event()
        stop_holder.append(stop)
        task = loop.create_task(front.run(stop=stop))
        while not front.servers:
            await asyncio.sleep(0.001)
        ready.set()
        await task
        await front.close()

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    ready.wait(10)
    owners = sim.cluster.truth_table()
    keys = [k for k in (f"bench:{i}" for i in range(2000)) if owners[key_hash_slot(k)] == "n1"]
    front.max_lag_ms = 0
    elapsed = _load(base, keys)
    lag = front.max_lag_ms
    drift = front.wall_ms() - sim.now
    loop.call_soon_threadsafe(stop_holder[0].set)
    thread.join(10)
    return elapsed, lag, drift


def _redis_server() -> float | None:
    binary = shutil.which("redis-server")
    if binary is None:
        return None
    port = _free_port()
    server = subprocess.Popen(
        [binary, "--port", str(port), "--save", "", "--appendonly", "no", "--bind", "127.0.0.1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.02)
        return _load(port, [f"bench:{i}" for i in range(1000)])
    finally:
        server.terminate()
        server.wait(10)


def main() -> str:
    try:
        import redis  # noqa: F401
    except ImportError:
        return "## RESP front\n\nSkipped: redis-py is not installed (pip install -e '.[test]').\n"
    rcsim_s, lag, drift = _rcsim()
    real_s = _redis_server()
    rows = [["rcsim --resp (3 masters + 3 replicas)", f"{REQUESTS / rcsim_s:,.0f}", "1.00"]]
    if real_s is not None:
        rows.append(
            [
                "redis-server 7.0 (same client)",
                f"{REQUESTS / real_s:,.0f}",
                f"{rcsim_s / real_s:.2f}",
            ]
        )
    note = (
        ""
        if real_s is not None
        else "\nredis-server is not installed (apt-get install redis-server): no comparison.\n"
    )
    return (
        "## RESP front: requests per second with redis-py\n\n"
        f"{REQUESTS:,} requests (SET + GET pairs, one at a time, one connection, keys on one "
        "master; one run each, the client in the same process as rcsim's server thread, so they share the GIL); the ratio is rcsim's time over redis-server's.\n\n"
        + table(["server", "requests/s", "time ratio"], rows)
        + f"\n\nUnder that load the pacer's worst lag behind the wall clock was {lag} ms; "
        f"at the end simulated time was {drift} ms behind.\n" + note
    )


if __name__ == "__main__":
    print(main())
