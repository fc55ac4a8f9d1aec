"""Constants of src/cluster.h and src/cluster.c (§1.1), and the process states a node can be in."""

from __future__ import annotations

CRON_PERIOD_MS = 100
FAIL_REPORT_VALIDITY_MULT = 2
FAIL_UNDO_TIME_MULT = 2
MF_TIMEOUT_MS = 5000
MF_PAUSE_MULT = 2
SLAVE_MIGRATION_DELAY_MS = 5000
MIN_REJOIN_DELAY_MS = 500
MAX_REJOIN_DELAY_MS = 5000
WRITABLE_DELAY_MS = 2000
REPL_PING_BYTES = 14  # "*1\r\n$4\r\nPING\r\n" in the replication stream

# The process, as the operating system sees it.
RUNNING = "running"
PAUSED = "paused"  # SIGSTOP
CRASHED = "crashed"  # SIGKILL or power loss
STOPPED = "stopped"  # graceful SHUTDOWN, or removed by del-node
