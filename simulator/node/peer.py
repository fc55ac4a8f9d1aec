"""``clusterNode``: what one node believes about another (§2.1)."""

from __future__ import annotations

from typing import Any, NoReturn

from simulator.messages import FAIL, MASTER, PFAIL


class _NoReports(dict[str, int]):
    """The ``fail_reports`` of a peer nobody reported: one shared, read-only empty dict
    instead of one dict per peer view (a 2,000-node cluster holds 4 million views, almost
    none ever reported). The first report replaces it with a dict of its own
    (:func:`add_fail_report`); copies and pickles keep sharing it."""

    __slots__ = ()

    def _frozen(self, *_args: object, **_kwargs: object) -> NoReturn:
        raise TypeError("NO_REPORTS is shared: give the peer a dict of its own first")

    __setitem__ = setdefault = update = __ior__ = _frozen

    def __copy__(self) -> _NoReports:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> _NoReports:
        return self

    def __reduce__(self) -> str:
        return "NO_REPORTS"


NO_REPORTS: dict[str, int] = _NoReports()


def add_fail_report(peer: PeerView, reporter: str, now: int) -> None:
    """``clusterNodeAddFailureReport``: a new report goes last, a repeated one keeps its
    place with the new time (Python dicts keep insertion order, as Redis's list does)."""
    reports = peer.fail_reports
    if reports:
        reports[reporter] = now
    else:
        peer.fail_reports = {reporter: now}


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
        self.replicas: tuple[str, ...] = ()  # immutable: the empty one is shared
        self.ping_sent = 0
        self.pong_received = 0
        self.data_received = 0
        self.fail_time = 0
        self.voted_time = -(10**12)
        self.repl_offset = 0
        self.repl_offset_time = 0
        self.orphaned_time = 0
        self.fail_reports = NO_REPORTS  # reporting master -> last report time
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
