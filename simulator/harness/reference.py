"""The model's rules that a harness of a *real* cluster (``rcsim verify``) applies to real
replies, so both sides of a comparison are judged the same way: the write ledger (which
acknowledged writes were lost, §20.2), the simulated clients' retry and timeout
constants, and CLUSTER NODES / CLUSTER INFO as rcsim prints them (§18.1, §18.4)."""

from simulator.dataplane.clients import (
    DEFAULT_TIMEOUT_MS,
    ERROR_DELAY_MS,
    MAX_ATTEMPTS,
    MAX_ERRORS,
    TRYAGAIN_DELAY_MS,
)
from simulator.dataplane.ledger import WriteLedger
from simulator.introspection import cluster_info, cluster_nodes

__all__ = [
    "DEFAULT_TIMEOUT_MS",
    "ERROR_DELAY_MS",
    "MAX_ATTEMPTS",
    "MAX_ERRORS",
    "TRYAGAIN_DELAY_MS",
    "WriteLedger",
    "cluster_info",
    "cluster_nodes",
]
