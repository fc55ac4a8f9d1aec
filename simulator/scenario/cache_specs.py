"""The scenario keys of cache-aside clients (docs/caching.md): a client's ``cache``
record and the top-level ``database`` record."""

from __future__ import annotations

from simulator.scenario import model
from simulator.scenario.records import Field, Record, RecordOf
from simulator.scenario.specs import (
    Duration,
    Enum,
    Int,
    Latency,
    Number,
    Ref,
)

CLIENT_METRICS = (
    "reads",
    "hits",
    "misses",
    "errors",
    "hit_ratio",
    "served_stale",
    "lock_waits",
    "refills",
    "db_reads",
    "db_writes",
    "db_refused",
    "writes",
    "invalidations_failed",
    "stale_reads",
    "read_p50_ms",
    "read_p95_ms",
    "read_p99_ms",
    "read_max_ms",
)
"""A cache-aside client's figures (``metrics.cache.clients.<name>`` in the report)."""

DATABASE_METRICS = (
    "reads",
    "writes",
    "refused",
    "max_queue",
    "peak_reads_per_s",
    "stale_reads",
    "stale_keys",
    "stale_open",
)
"""The database's figures and the stale-read totals (no ``client``)."""

_CACHE = Record(
    "cache",
    [
        Field("ttl", Duration(minimum=1), "a filled key's TTL (SET ... PX)", True, attr="ttl_ms"),
        Field(
            "jitter",
            Number(0, 1, "a fraction"),
            "add a seeded-uniform 0..jitter×ttl to every TTL",
            default=0.0,
        ),
        Field(
            "on_write",
            Enum("invalidate", "write_through", what="on_write"),
            "after the database write: DEL the key, or SET the new value",
            default="invalidate",
        ),
        Field(
            "stampede",
            Enum("none", "lock", "serve_stale", what="stampede mitigation"),
            "on a miss: every reader refills (none), one refills under SET NX PX (lock), "
            "or serve the old value while one refreshes (serve_stale)",
            default="none",
        ),
        Field("lock_ttl", Duration(minimum=1), "the lock's PX", default=1000, attr="lock_ms"),
        Field(
            "retry",
            Duration(minimum=1),
            "lock: how long a reader that lost the lock waits before GET again",
            default=20,
            attr="retry_ms",
        ),
        Field(
            "retries",
            Int(0, 100_000, what="a count"),
            "lock: retries before reading the database without filling",
            default=50,
        ),
        Field(
            "stale",
            Duration(minimum=1),
            "serve_stale: how much longer than ttl Redis keeps the value",
            default=5000,
            attr="stale_ms",
        ),
    ],
)

_DATABASE = Record(
    "database",
    [
        Field(
            "latency",
            Latency(),
            "service time of one query: 5ms or 2ms..8ms (seeded uniform)",
            default=(5.0, 5.0),
        ),
        Field(
            "concurrency",
            Int(1, 100_000, what="a worker count"),
            "queries served at once",
            default=8,
        ),
        Field(
            "queue",
            Int(0, 10_000_000, what="a queue length"),
            "queries that may wait; more are refused",
            default=1000,
        ),
    ],
)


CACHE = RecordOf(_CACHE, model.CacheSpec)
"""A client's ``cache`` record (docs/caching.md)."""


DATABASE = RecordOf(_DATABASE, model.DatabaseSpec)
"""The top-level ``database`` record (docs/caching.md)."""


CACHE_CONDITION = Record(
    "cache",
    [
        Field(
            "metric",
            Enum(*dict.fromkeys(CLIENT_METRICS + DATABASE_METRICS), what="cache metric"),
            "the figure (docs/caching.md)",
            required=True,
        ),
        Field("client", Ref("client"), "whose figure (none: the database's and the totals)"),
        Field("min", Number(0, 1e18), "at least", attr="minimum"),
        Field("max", Number(0, 1e18), "at most", attr="maximum"),
    ],
    any_of=(("min", "max"),),
)
"""The ``cache`` condition's value."""
