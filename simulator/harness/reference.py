"""The model's rules that a harness of a *real* cluster (``rcsim verify``) applies to real
replies, so both sides of a comparison are judged the same way: the write ledger (which
acknowledged writes were lost, §20.2), the simulated clients' retry and timeout
constants, and CLUSTER NODES / CLUSTER INFO as rcsim prints them (§18.1, §18.4); for
caching clients, the backing database's service model, the stale-read ledger, the
cache-aside value encoding and a local cache (docs/caching.md, §27)."""

from simulator.dataplane.backing_db import READ, WRITE, BackingDB, DbAnswer, DbConfig
from simulator.dataplane.cache_aside import (
    INVALIDATE,
    LOCK,
    SERVE_STALE,
    CacheConfig,
    CacheMetrics,
    decode,
    encode,
    percentile,
)
from simulator.dataplane.clients import (
    DEFAULT_TIMEOUT_MS,
    ERROR_DELAY_MS,
    MAX_ATTEMPTS,
    MAX_ERRORS,
    TRYAGAIN_DELAY_MS,
)
from simulator.dataplane.ledger import WriteLedger
from simulator.dataplane.local_cache import CacheOptions, LocalCache
from simulator.dataplane.stale_reads import StaleReadLedger, episode_row
from simulator.engine import derive_seed
from simulator.harness.cache_checks import figure_of
from simulator.introspection import cluster_info, cluster_nodes

__all__ = [
    "DEFAULT_TIMEOUT_MS",
    "ERROR_DELAY_MS",
    "INVALIDATE",
    "LOCK",
    "MAX_ATTEMPTS",
    "MAX_ERRORS",
    "READ",
    "SERVE_STALE",
    "TRYAGAIN_DELAY_MS",
    "WRITE",
    "BackingDB",
    "CacheConfig",
    "CacheMetrics",
    "CacheOptions",
    "DbAnswer",
    "DbConfig",
    "LocalCache",
    "StaleReadLedger",
    "WriteLedger",
    "cluster_info",
    "cluster_nodes",
    "decode",
    "derive_seed",
    "encode",
    "episode_row",
    "figure_of",
    "percentile",
]
