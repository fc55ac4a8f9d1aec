"""``clusterNode``: what one node believes about another (§2.1)."""

from __future__ import annotations

from typing import Any, Final, NoReturn

from simulator.messages import FAIL, MASTER, PFAIL
from simulator.native import mypyc_attr
from simulator.replication import UNIX_BASE_MS

NEVER_PONGED: Final = -UNIX_BASE_MS
"""``pong_received`` of a node that never answered me: Redis's ``createClusterNode`` sets
it to 0, the unix epoch (``mstime()`` counts from it), so ``clusterCron``'s "pong older
than NT/2" holds for it at once and its first cron tick with a link pings it (§6 step 3c),
and step 2's random ping takes it as the oldest. rcsim's clock starts at the run's 0,
``UNIX_BASE_MS`` after the epoch: a 0 here would be a pong at the run's start, which
withheld that ping for the run's first NT/2 (a MEET-built cluster discovered its nodes
up to a second late, docs/fidelity.md, "fresh start")."""


class _NoReports(dict[str, int]):
    """The ``fail_reports`` of a peer nobody reported: one shared, read-only empty dict
    instead of one dict per peer view (a 2,000-node cluster holds 4 million views, almost
    none ever reported). The first report replaces it with a dict of its own
    (:func:`add_fail_report`); copies and pickles keep sharing it."""

    __slots__ = ()

    def _frozen(self, *_args: object, **_kwargs: object) -> NoReturn:
        raise TypeError("NO_REPORTS is shared: give the peer a dict of its own first")

    __setitem__ = _frozen  # one name a line: mypyc refuses `a = b = c` in a class body
    setdefault = _frozen
    update = _frozen
    __ior__ = _frozen

    def __copy__(self) -> _NoReports:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> _NoReports:
        return self

    def __reduce__(self) -> str:
        return "NO_REPORTS"


NO_REPORTS: dict[str, int] = _NoReports()

_NO_TIMES = (0, -(10**12), 0, 0)  # PeerView._times of a fresh view


def add_fail_report(peer: PeerView, reporter: str, now: int) -> None:
    """``clusterNodeAddFailureReport``: a new report goes last, a repeated one keeps its
    place with the new time (Python dicts keep insertion order, as Redis's list does)."""
    reports = peer.fail_reports
    if reports:
        reports[reporter] = now
    else:
        peer.fail_reports = {reporter: now}


@mypyc_attr(allow_interpreted_subclasses=True)
class PeerView:
    """What one node believes about another (``clusterNode``, §2.1). One per observer."""

    __slots__ = (
        "_times",
        "config_epoch",
        "data_received",
        "due",
        "fail_reports",
        "flags",
        "id",
        "index",
        "link",
        "link_ctime",
        "master",
        "name",
        "ping_sent",
        "pong_received",
        "repl_offset",
        "repl_offset_time",
        "replicas",
        "seq",
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
        self.pong_received = NEVER_PONGED
        self.data_received = 0
        self.repl_offset = 0
        self.repl_offset_time = 0
        self.fail_reports = NO_REPORTS  # reporting master -> last report time
        self.link = False
        self.link_ctime = 0
        self._times = _NO_TIMES  # (fail_time, voted_time, orphaned_time, ctime)
        # The observer's cron bookkeeping (simulator.node.cron_deadlines): the deadline
        # this peer is filed at (None: not filed) and its place in the node table.
        self.due: int | None = None
        self.seq = 0

    # Four times most views never set (each view of a 2,000-node cluster's 4 million
    # would spend 32 bytes on them): one tuple, the default one shared, replaced whole
    # when one changes (so copy.copy of a view shares nothing mutable).

    @property
    def fail_time(self) -> int:
        """When FAIL was set (``node->fail_time``)."""
        return self._times[0]

    @fail_time.setter
    def fail_time(self, value: int) -> None:
        t = self._times
        if t[0] != value:
            self._times = (value, t[1], t[2], t[3])

    @property
    def voted_time(self) -> int:
        """When I last voted for this master's replicas (``node->voted_time``)."""
        return self._times[1]

    @voted_time.setter
    def voted_time(self, value: int) -> None:
        t = self._times
        if t[1] != value:
            self._times = (t[0], value, t[2], t[3])

    @property
    def orphaned_time(self) -> int:
        """Since when this master has had no working replica (``node->orphaned_time``)."""
        return self._times[2]

    @orphaned_time.setter
    def orphaned_time(self, value: int) -> None:
        t = self._times
        if t[2] != value:
            self._times = (t[0], t[1], value, t[3])

    @property
    def ctime(self) -> int:
        """When this view was created (``node->ctime``): the handshake timeout reads it."""
        return self._times[3]

    @ctime.setter
    def ctime(self, value: int) -> None:
        t = self._times
        if t[3] != value:
            self._times = (t[0], t[1], t[2], value)

    @property
    def is_master(self) -> bool:
        return bool(self.flags & MASTER)

    @property
    def failed(self) -> bool:
        return bool(self.flags & FAIL)

    @property
    def timed_out(self) -> bool:
        return bool(self.flags & PFAIL)
