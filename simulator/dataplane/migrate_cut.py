"""``MIGRATE`` to a target behind a network cut, as Redis 7.0.15 on Linux does it.

Measured in ``tests/data/migrate-behind-cut.json`` (see tests/data/README.md): the
source's exchange with the target is blocking (``syncWrite``/``syncReadLine`` with the
command's timeout; redis-cli passes 60 s), and while it waits the process serves
nothing, bus included, so its peers see it as a frozen process and may fail it over.

* **Fresh connection** (none cached): ``connSocketBlockingConnect`` waits ``timeout``
  for the connect, then returns with the socket still connecting; the write waits
  another ``timeout``: 2×timeout, ``-IOERR error or timeout writing to target
  instance``. A cut that heals meanwhile lets the connect complete at the next SYN
  retransmission (Linux's schedule), and the MIGRATE goes on.
* **Cached connection** (``migrateGetSocket``, reused within
  ``MIGRATE_SOCKET_CACHE_TTL`` = 10 s): the write fits the socket buffer, the read
  waits ``timeout``: ``-IOERR error or timeout reading to target instance``, and the
  socket is closed. A heal lets the data arrive at the next retransmission (RTO from
  200 ms, doubling).

Simplified: the data retransmissions use the minimum RTO (the measured replies after a
5 s heal come at 6.6-6.9 s, the model's at 6.2 s); a MIGRATE that fails after a
write that reached the target is not modelled (the keys stay on the source).
"""

from __future__ import annotations

from simulator.links.linux import LINUX, LinuxTcp

MIGRATE_SOCKET_CACHE_TTL_MS = 10_000
"""``MIGRATE_SOCKET_CACHE_TTL`` (cluster.c): a cached socket idle this long is closed."""

REDIS_CLI_MIGRATE_TIMEOUT_MS = 60_000
"""``CLUSTER_MANAGER_MIGRATE_TIMEOUT`` (redis-cli.c 7.0.15): the timeout it passes."""

ERR_WRITING = "IOERR error or timeout writing to target instance"
ERR_READING = "IOERR error or timeout reading to target instance"


def retransmissions_ms(cached: bool, limit_ms: int, tcp: LinuxTcp = LINUX) -> list[int]:
    """When, after the MIGRATE started, the kernel sends again what the cut swallowed:
    the SYN for a fresh connection (1 s steps for ``tcp_syn_linear_timeouts``, then
    doubling), the data for a cached one (from ``TCP_RTO_MIN``, doubling, capped)."""
    times: list[int] = []
    t = 0
    if cached:
        rto = tcp.rto_min_ms
        while True:
            t += rto
            if t > limit_ms:
                return times
            times.append(t)
            rto = min(rto * 2, tcp.rto_max_ms)
    rto = tcp.syn_rto_ms
    for k in range(1, tcp.syn_retries + tcp.syn_linear_timeouts + 1):
        t += rto
        if t > limit_ms:
            break
        times.append(t)
        if k > tcp.syn_linear_timeouts:
            rto = min(rto * 2, tcp.rto_max_ms)
    return times


def block_ms(cached: bool, timeout_ms: int) -> int:
    """How long the source blocks when the cut never heals: 1× or 2× the timeout."""
    return timeout_ms if cached else 2 * timeout_ms
