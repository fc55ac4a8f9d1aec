"""Constants of src/cluster.h and src/cluster.c (§1.1), and the process states a node can be in."""

from __future__ import annotations

from typing import Final

CRON_PERIOD_MS: Final = 100
# clusterCron does not run every 100.0 ms: ``processTimeEvents`` (ae.c) re-arms serverCron
# 100 ms after it *returns*, and ``aeApiPoll`` (ae_epoll.c) rounds the wait up to a whole
# millisecond, so each period is 100 ms + serverCron's run time + 0-1 ms (§6). The fixed
# part (run time, timer slack) is a calibration: 10 ticks measured 1007.1 ms on 7.0.15
# (docs/fidelity.md, "cron lateness"); the rounding part is drawn per tick.
CALIBRATION_CRON_OVERHEAD_MS: Final = 0.2
# How old the converged start's outbound bus links are at time 0 (``link_ctime``; the
# cron's link refresh reads it, §6): a real cluster built as ``rcsim verify`` builds it
# opens its links while its nodes discover each other after the MEETs and is healthy
# once the last one completes (masters only: 52-3006 ms old), or, with replicas, once
# their full syncs end, which start after ``repl-diskless-sync-delay`` (5 s): 4831-7028
# ms. Calibrations: the ranges of tests/data/link-ages.json (master-crash, no-replica,
# 5 builds each); checked on two other shapes (docs/fidelity.md). Drawn uniformly in
# LINK_AGE_STEPS steps, the resolution of the 1-5 s draw they replaced, so the start's
# other draws (pong times) are the same numbers as before.
CALIBRATION_LINK_AGE_MS: Final = (50, 3000)
CALIBRATION_LINK_AGE_WITH_REPLICAS_MS: Final = (4800, 7000)
LINK_AGE_STEPS: Final = 4000
FAIL_REPORT_VALIDITY_MULT: Final = 2
FAIL_UNDO_TIME_MULT: Final = 2
MF_TIMEOUT_MS: Final = 5000
MF_PAUSE_MULT: Final = 2
SLAVE_MIGRATION_DELAY_MS: Final = 5000
MIN_REJOIN_DELAY_MS: Final = 500
MAX_REJOIN_DELAY_MS: Final = 5000
WRITABLE_DELAY_MS: Final = 2000
REPL_PING_BYTES: Final = 14  # "*1\r\n$4\r\nPING\r\n" in the replication stream
GETACK_BYTES: Final = 37  # "*3\r\n$8\r\nREPLCONF\r\n$6\r\nGETACK\r\n$1\r\n*\r\n"; 37 on 7.0.15 (tests/data/wait-getack.json)

# The process, as the operating system sees it.
RUNNING: Final = "running"
PAUSED: Final = "paused"  # SIGSTOP
CRASHED: Final = "crashed"  # SIGKILL or power loss
STOPPED: Final = "stopped"  # graceful SHUTDOWN, or removed by del-node
