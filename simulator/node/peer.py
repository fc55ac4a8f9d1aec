"""``clusterNode``: what one node believes about another (§2.1)."""

from __future__ import annotations

from simulator.messages import FAIL, MASTER, PFAIL


class PeerView:
    """What one node believes about another (``clusterNode``, §2.1). One per observer."""

    __slots__ = (
        "config_epoch",
        "ctime",
        "data_received",
        "due",
        "fail_reports",
        "fail_time",
        "flags",
        "id",
        "index",
        "link",
        "link_ctime",
        "master",
        "name",
        "orphaned_time",
        "ping_sent",
        "pong_received",
        "repl_offset",
        "repl_offset_time",
        "replicas",
        "seq",
        "voted_time",
    )

    def __init__(self, name: str, node_id: str, index: int, flags: int) -> None:
        self.name = name
        self.id = node_id
        self.index = index
        self.flags = flags
        self.config_epoch = 0
        self.master: str | None = None
        self.replicas: list[str] = []
        self.ping_sent = 0
        self.pong_received = 0
        self.data_received = 0
        self.fail_time = 0
        self.voted_time = -(10**12)
        self.repl_offset = 0
        self.repl_offset_time = 0
        self.orphaned_time = 0
        self.fail_reports: dict[str, int] = {}  # reporting master -> last report time
        self.link = False
        self.link_ctime = 0
        self.ctime = 0
        # The observer's cron bookkeeping (simulator.node.cron_deadlines): the deadline
        # this peer is filed at (None: not filed) and its place in the node table.
        self.due: int | None = None
        self.seq = 0

    @property
    def is_master(self) -> bool:
        return bool(self.flags & MASTER)

    @property
    def failed(self) -> bool:
        return bool(self.flags & FAIL)

    @property
    def timed_out(self) -> bool:
        return bool(self.flags & PFAIL)
