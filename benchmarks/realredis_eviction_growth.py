"""The eviction experiment's parts A and C on a real Redis 7.0.15 with another
``maxmemory``: does the non-key growth rcsim fitted at 2,000,000 bytes hold?

Why: ``simulator/fidelity_evict.py`` adds three calibrated growths of non-key memory to
reproduce ``eviction-expiry.json`` (``maxmemory`` 2,000,000): 27,300 bytes as the read
phase begins, 8 bytes per added key, 9 bytes per ``EXPIRE``. Each was fitted on the run
it serves and checked nowhere else (docs/fidelity.md, issue 11 §4). This runs the same
method with a raw RESP client instead of redis-py, at 2,000,000 bytes and at 3,000,000
(about twice the keys), so rcsim's harness can be run on the same shapes
(``tests/test_eviction_growth.py``). Produces ``tests/data/eviction-growth.json``; not
part of the suite (needs ``redis-server``).

    .venv/bin/python -m benchmarks.realredis_eviction_growth --out tests/data/eviction-growth.json

Method (tests/data/README.md, ``eviction-expiry.json``; one-command round trips over a
raw RESP connection on 127.0.0.1:7463, a fresh server per run): fill with
``SET <id> foo`` + ``DBSIZE`` until ``DBSIZE`` stops growing (part A, ``allkeys-lru``,
samples 5) or a ``SET`` is refused (part C, ``volatile-ttl``); then ``GET`` every key of
the first set in id order 1 ms apart (A), or ``EXPIRE id 1000+id`` on each (C); then
``added`` new keys, each ``SET`` + ``INFO`` (as many relative to the first set as the
2,000,000-byte runs added: 5,550 of 11,756 for A, 2,000 for C). ``evicted_keys`` after
each phase, ``used_memory`` empty and after the fill.
"""

from __future__ import annotations

import argparse
import time

from benchmarks.realredis_servers import (
    Conn,
    emit,
    load_average,
    result_header,
    servers,
)

PORT = 7463
ADDED_SHARE = {"allkeys-lru": 5550 / 11756, "volatile-ttl": 2000 / 11756}


def _info(conn: Conn, field: str) -> int:
    text = (conn.cmd(b"INFO") or b"").decode()
    return int(text.split(f"\r\n{field}:", 1)[1].split("\r\n", 1)[0])


def _dbsize(conn: Conn) -> int:
    reply = conn.cmd(b"DBSIZE") or b":0"
    return int(reply[1:])


def one_run(policy: str, maxmemory: int) -> dict[str, object]:
    """One fresh server, one part: the counts after each phase."""
    with servers("rcsim-evictgrowth-") as started:
        started.start(
            PORT, "--maxmemory", str(maxmemory), "--maxmemory-policy", policy,
            "--maxmemory-samples", "5",
        )  # fmt: skip
        conn = Conn(PORT)
        empty = _info(conn, "used_memory")
        old, key = _dbsize(conn), 0
        while True:
            key += 1
            if conn.cmd(b"SET", str(key).encode(), b"foo") != b"+OK":
                break
            new = _dbsize(conn)
            if new == old:
                break
            old = new
        first_set_max_id = key
        inserted = _dbsize(conn)
        full = _info(conn, "used_memory")
        after_fill = _info(conn, "evicted_keys")
        began = time.monotonic()
        for i in range(1, first_set_max_id + 1):
            if policy == "volatile-ttl":
                conn.cmd(b"EXPIRE", str(i).encode(), str(1000 + i).encode())
            else:
                conn.cmd(b"GET", str(i).encode())
                time.sleep(0.001)
        second_phase_s = round(time.monotonic() - began, 2)
        after_second = _info(conn, "evicted_keys")
        added = round(first_set_max_id * ADDED_SHARE[policy])
        for i in range(first_set_max_id + 1, first_set_max_id + 1 + added):
            conn.cmd(b"SET", str(i).encode(), b"foo")
            conn.cmd(b"INFO")
        return {
            "policy": policy,
            "maxmemory": maxmemory,
            "keys_inserted_before_first_eviction": inserted,
            "first_set_max_id": first_set_max_id,
            "used_memory_empty": empty,
            "used_memory_full": full,
            "evicted_during_fill": after_fill,
            "second_phase_s": second_phase_s,
            "evicted_during_fill_and_second_phase": after_second,
            "added_keys": added,
            "evicted_keys": _info(conn, "evicted_keys"),
            "dbsize_end": _dbsize(conn),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--maxmemory", type=int, nargs="+", default=[2_000_000, 3_000_000])
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--out", default="")
    args = parser.parse_args()
    runs = []
    load = load_average()
    for maxmemory in args.maxmemory:
        for rep in range(1, args.reps + 1):
            for policy in ("allkeys-lru", "volatile-ttl"):
                run = {**one_run(policy, maxmemory), "rep": rep}
                print(run, flush=True)
                runs.append(run)
    result = {
        **result_header(
            "parts A and C of eviction-expiry.json at another maxmemory",
            ".venv/bin/python -m benchmarks.realredis_eviction_growth "
            f"--maxmemory {' '.join(map(str, args.maxmemory))} --reps {args.reps} --out {args.out}",
        ),
        "load_before": load,
        "runs": runs,
        "load_after": load_average(),
    }
    print(emit(result, args.out), end="")


if __name__ == "__main__":
    main()
