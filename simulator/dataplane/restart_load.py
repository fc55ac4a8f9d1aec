"""What a restarted node loads (``loadDataFromDisk``, server.c; §21.3, §21.4): its keys
and their TTL deadlines from the AOF or the RDB file, and the replication history the
RDB recorded.

* A replica resumes the saved history, so it can partially resync.
* A master (7.0) takes a new replication ID with the saved one as its second, accepted
  up to the saved offset, and a backlog made before loading, so a replica holding
  exactly the RDB's data can partially resync with it. Loading an RDB, it skips the keys
  whose deadline has passed and feeds a ``DEL`` for each into that backlog
  (``rdbLoad`` with ``RDBFLAGS_FEED_REPL``); from the AOF it loads them all and its
  expire cycle deletes them.
* Without a recorded history the node starts a new one at offset 0.
"""

from __future__ import annotations

from typing import Protocol

from simulator.dataplane import expiry
from simulator.node import Node


class Plane(expiry.Plane, Protocol):
    """What this module uses of :class:`~simulator.dataplane.model.ClusterData`."""

    def new_replid(self) -> str: ...


def load(dp: Plane, node: Node) -> None:
    """Replace ``node``'s dataset and history with what its persistence kept; trace
    ``loaded`` with the keys loaded, those skipped as expired and the offset."""
    data = dp.data(node)
    persistence = data.persistence
    kept = persistence.restore(data.crash_time, data.power_loss, dp.now, node.config)
    ttls = persistence.loaded_ttls
    data.replace({key: (value, 0) for key, value in kept.items()}, ttls)
    expiry.ensure_cron(dp, node)
    repl = persistence.loaded_repl
    if repl is not None and not node.is_master:
        node.repl.new_history(*repl)
    elif repl is not None:
        node.repl.load_master_history(dp.new_replid(), *repl)
    else:
        node.repl.new_history(dp.new_replid(), 0)
    expired: list[str] = []
    if node.is_master and persistence.loaded_from_rdb:
        unix_now = expiry.unix_ms(dp)
        expired = [key for key, at in ttls.items() if at < unix_now]
        if expired:
            dp.write(node, [(key, None, dp.next_version()) for key in expired])
    dp.emit(
        "loaded",
        node.name,
        keys=len(kept) - len(expired),
        expired=len(expired),
        offset=node.repl.offset,
    )
