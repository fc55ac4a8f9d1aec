"""The validated scenario: frozen dataclasses, every value with its file position.

Each object has ``loc`` (where it starts in the file) and ``locs`` (attribute name →
position of that attribute's value), so a runner can blame the exact line when a step
fails at run time: ``f"{action.loc_of('node')}: node is already dead"``.

Times are integer milliseconds, rates requests per second, slots sorted tuples.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from simulator.scenario.errors import Loc


@dataclass(frozen=True, kw_only=True)
class Located:
    """Anything read from the file: its start position and the position of each attribute."""

    loc: Loc
    locs: Mapping[str, Loc] = field(default_factory=dict, compare=False, repr=False, hash=False)

    def loc_of(self, attr: str) -> Loc:
        """Where ``attr``'s value was written (the object's start when it was defaulted)."""
        return self.locs.get(attr, self.loc)


# --------------------------------------------------------------------------- topology


@dataclass(frozen=True, kw_only=True)
class NodeSpec(Located):
    """One node at the start: generated from ``masters``/``replicas`` or listed in ``nodes``."""

    name: str
    role: str  # "master" | "replica"
    slots: tuple[int, ...] = ()
    replica_of: str | None = None
    config: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class ClusterSpec(Located):
    """The initial cluster; ``nodes`` is always the full resolved list, in creation order."""

    nodes: tuple[NodeSpec, ...]
    config: Mapping[str, Any] = field(default_factory=dict)
    masters: int | None = None  # as written (None when an explicit ``nodes:`` list is used)
    replicas: int | None = None
    start: str = "converged"  # "converged" or "meet" (built by MEET, as redis-cli does)
    gossip: str = "redis-7.0"  # cluster.behaviour.gossip (simulator/node/gossip_rules.py)
    topology: str = "cluster"  # or "standalone": cluster-enabled no (simulator/standalone.py)
    service_scale: float | None = None  # cluster.service: None = no service model (§28.4)

    @property
    def names(self) -> list[str]:
        return [n.name for n in self.nodes]


@dataclass(frozen=True, kw_only=True)
class NetworkSpec(Located):
    """Link properties; ``latency`` is ``(low, high)`` ms, drawn seeded-uniform per message."""

    latency: tuple[float, float] | None = None
    loss: float = 0.0


@dataclass(frozen=True, kw_only=True)
class CacheSpec(Located):
    """A client's cache-aside policy (docs/caching.md); times in ms."""

    ttl_ms: int
    jitter: float = 0.0
    on_write: str = "invalidate"
    stampede: str = "none"
    lock_ms: int = 1000
    retry_ms: int = 20
    retries: int = 50
    stale_ms: int = 5000


@dataclass(frozen=True, kw_only=True)
class DatabaseSpec(Located):
    """The backing database of cache-aside clients: service time (low, high) ms,
    workers, queue bound."""

    latency: tuple[float, float] = (5.0, 5.0)
    concurrency: int = 8
    queue: int = 1000


@dataclass(frozen=True, kw_only=True)
class LocalCacheSpec(Located):
    """A client's ``local_cache`` (client-side caching, simulator/scenario/local_cache.py)."""

    mode: str = "default"
    prefixes: tuple[str, ...] = ()
    flush_on: tuple[str, ...] = ("disconnect",)


@dataclass(frozen=True, kw_only=True)
class ClientSpec(Located):
    """A workload client: ``rate`` requests/s, ``writes`` the fraction that are writes."""

    name: str
    rate: float
    writes: float = 0.5
    keys: str = "key:{i}"
    key_count: int = 1000
    ttl_ms: int | None = None  # writes carry PX ttl (§26.1)
    cache: CacheSpec | None = None  # a cache-aside client (docs/caching.md)
    multi: float = 0.0  # MSET/MGET of two keys (§3.1: CROSSSLOT without a hash tag)
    local_cache: LocalCacheSpec | None = None  # client-side caching with CLIENT TRACKING


# --------------------------------------------------------------------------- actions


@dataclass(frozen=True, kw_only=True)
class Action(Located):
    """One thing a step does. ``yaml_key`` is the word used in the file."""

    yaml_key: ClassVar[str] = ""


@dataclass(frozen=True, kw_only=True)
class Kill(Action):
    yaml_key: ClassVar[str] = "kill"
    node: str


@dataclass(frozen=True, kw_only=True)
class KillMasters(Action):
    """Crash ``share`` (0 < share ≤ 1) of the slot-serving masters at once, chosen from
    the seed (simulator/kill_share.py)."""

    yaml_key: ClassVar[str] = "kill-masters"
    share: float


@dataclass(frozen=True, kw_only=True)
class Pause(Action):
    yaml_key: ClassVar[str] = "pause"
    node: str


@dataclass(frozen=True, kw_only=True)
class Resume(Action):
    yaml_key: ClassVar[str] = "resume"
    node: str


@dataclass(frozen=True, kw_only=True)
class Restart(Action):
    yaml_key: ClassVar[str] = "restart"
    node: str


@dataclass(frozen=True, kw_only=True)
class Shutdown(Action):
    yaml_key: ClassVar[str] = "shutdown"
    node: str


@dataclass(frozen=True, kw_only=True)
class Partition(Action):
    yaml_key: ClassVar[str] = "partition"
    groups: tuple[tuple[str, ...], ...]


@dataclass(frozen=True, kw_only=True)
class Cut(Action):
    """One-way: ``sources`` can no longer reach ``targets`` (YAML ``from``/``to``)."""

    yaml_key: ClassVar[str] = "cut"
    sources: tuple[str, ...]
    targets: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class Heal(Action):
    """``groups`` None heals every link; otherwise the links between the named groups."""

    yaml_key: ClassVar[str] = "heal"
    groups: tuple[tuple[str, ...], ...] | None = None


@dataclass(frozen=True, kw_only=True)
class Failover(Action):
    yaml_key: ClassVar[str] = "failover"
    node: str
    mode: str = "default"  # "default" | "force" | "takeover"


@dataclass(frozen=True, kw_only=True)
class Reshard(Action):
    """Move ``count`` slots (or exactly ``slots`` when given) from ``source`` to ``target``."""

    yaml_key: ClassVar[str] = "reshard"
    source: str
    target: str
    count: int
    slots: tuple[int, ...] | None = None
    pipeline: int = 10  # keys per MIGRATE, as redis-cli --cluster-pipeline


@dataclass(frozen=True, kw_only=True)
class Rebalance(Action):
    yaml_key: ClassVar[str] = "rebalance"
    weights: Mapping[str, float] = field(default_factory=dict)
    threshold: float = 2.0  # percent, as redis-cli --cluster-threshold
    use_empty_masters: bool = False
    pipeline: int = 10


@dataclass(frozen=True, kw_only=True)
class AddNode(Action):
    """A new node; ``name`` is always filled (default: the next free ``n<k>``)."""

    yaml_key: ClassVar[str] = "add-node"
    name: str
    replica_of: str | None = None


@dataclass(frozen=True, kw_only=True)
class DelNode(Action):
    yaml_key: ClassVar[str] = "del-node"
    node: str


@dataclass(frozen=True, kw_only=True)
class Forget(Action):
    """``CLUSTER FORGET node`` on each of ``on_nodes`` (None: every running node but it)."""

    yaml_key: ClassVar[str] = "forget"
    node: str
    on_nodes: tuple[str, ...] | None = None


@dataclass(frozen=True, kw_only=True)
class Fix(Action):
    """``with_unreachable_masters``: ``--cluster-fix-with-unreachable-masters`` (§16.6)."""

    yaml_key: ClassVar[str] = "fix"
    with_unreachable_masters: bool = False


@dataclass(frozen=True, kw_only=True)
class SetConfig(Action):
    """``values`` maps directive names to coerced values (see :func:`simulator.config.coerce`)."""

    yaml_key: ClassVar[str] = "set-config"
    node: str  # a node name or "all"
    values: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Write(Action):
    yaml_key: ClassVar[str] = "write"
    key: str
    value: str | None = None
    client: str | None = None
    ttl_ms: int | None = None  # SET ... PX ttl (§26.1)


@dataclass(frozen=True, kw_only=True)
class Expire(Action):
    yaml_key: ClassVar[str] = "expire"
    key: str
    ttl_ms: int
    client: str | None = None


@dataclass(frozen=True, kw_only=True)
class Read(Action):
    yaml_key: ClassVar[str] = "read"
    key: str
    client: str | None = None


@dataclass(frozen=True, kw_only=True)
class Publish(Action):
    yaml_key: ClassVar[str] = "publish"
    channel: str
    message: str
    node: str | None = None
    sharded: bool = False


@dataclass(frozen=True, kw_only=True)
class Subscribe(Action):
    """``client`` names the subscriber (default ``sub<k>``, k counting subscribe steps)."""

    yaml_key: ClassVar[str] = "subscribe"
    channel: str
    client: str
    node: str | None = None
    pattern: bool = False
    sharded: bool = False


@dataclass(frozen=True, kw_only=True)
class Workload(Action):
    yaml_key: ClassVar[str] = "workload"
    client: str
    rate: float | None = None
    writes: float | None = None


# --------------------------------------------------------------------------- conditions


@dataclass(frozen=True, kw_only=True)
class Condition(Located):
    """One check, for ``expect`` (now) or ``wait_for`` (until true or timeout)."""

    yaml_key: ClassVar[str] = ""


@dataclass(frozen=True, kw_only=True)
class ClusterState(Condition):
    """``node`` None: every live node reports ``state``; else that node does."""

    yaml_key: ClassVar[str] = "cluster_state"
    state: str
    node: str | None = None


@dataclass(frozen=True, kw_only=True)
class Role(Condition):
    yaml_key: ClassVar[str] = "role"
    roles: Mapping[str, str]  # node -> "master" | "replica"


@dataclass(frozen=True, kw_only=True)
class Owner(Condition):
    yaml_key: ClassVar[str] = "owner"
    owners: Mapping[str, tuple[int, ...]]  # node -> slots it must own (truth)


@dataclass(frozen=True, kw_only=True)
class Flag(Condition):
    """In ``observer``'s view, ``node`` has flag ``has`` (or lacks flag ``lacks``)."""

    yaml_key: ClassVar[str] = "flag"
    observer: str
    node: str
    has: str | None = None
    lacks: str | None = None


@dataclass(frozen=True, kw_only=True)
class Agree(Condition):
    yaml_key: ClassVar[str] = "agree"
    value: bool = True


@dataclass(frozen=True, kw_only=True)
class Covered(Condition):
    yaml_key: ClassVar[str] = "covered"
    value: bool = True


@dataclass(frozen=True, kw_only=True)
class LostWrites(Condition):
    """Acknowledged writes lost: exactly ``exact``, or within ``minimum``..``maximum``."""

    yaml_key: ClassVar[str] = "lost_writes"
    exact: int | None = None
    minimum: int | None = None
    maximum: int | None = None


@dataclass(frozen=True, kw_only=True)
class Promoted(Condition):
    yaml_key: ClassVar[str] = "promoted"
    node: str


@dataclass(frozen=True, kw_only=True)
class Epoch(Condition):
    yaml_key: ClassVar[str] = "epoch"
    epochs: Mapping[str, int]  # node -> its configEpoch (as CLUSTER NODES shows it)


@dataclass(frozen=True, kw_only=True)
class Delivered(Condition):
    """Pub/sub deliveries, counted per (subscriber, message): ``count`` exact or ``minimum``."""

    yaml_key: ClassVar[str] = "delivered"
    channel: str | None = None
    subscriber: str | None = None
    count: int | None = None
    minimum: int | None = None


@dataclass(frozen=True, kw_only=True)
class Key(Condition):
    """One key on one node: ``stored`` (in its memory: DBSIZE counts it) and/or
    ``readable`` (a READONLY GET there returns it: not logically expired), §26.3."""

    yaml_key: ClassVar[str] = "key"
    node: str
    key: str
    stored: bool | None = None
    readable: bool | None = None


@dataclass(frozen=True, kw_only=True)
class CacheMetric(Condition):
    """One figure of a cache-aside client (or of the database with no client) is within
    ``minimum``..``maximum`` (docs/caching.md)."""

    yaml_key: ClassVar[str] = "cache"
    metric: str
    client: str | None = None
    minimum: float | None = None
    maximum: float | None = None


@dataclass(frozen=True, kw_only=True)
class StaleKeys(Condition):
    """Keys on ``node`` whose TTL has passed but that are still in its memory (§26.2)."""

    yaml_key: ClassVar[str] = "stale_keys"
    node: str
    minimum: int | None = None
    maximum: int | None = None


@dataclass(frozen=True, kw_only=True)
class Latency(Condition):
    """The ``percentile`` of ``client``'s request latencies (answered ``ok``) over the last
    ``window`` ms (None: the whole run so far), in ms: at least ``minimum`` and/or at most
    ``maximum`` (§28.4)."""

    yaml_key: ClassVar[str] = "latency"
    client: str
    percentile: float = 99.0
    window: int | None = None
    minimum: int | None = None
    maximum: int | None = None


@dataclass(frozen=True, kw_only=True)
class Requests(Condition):
    """The share of ``client``'s request attempts (``request`` events) over the last
    ``window`` ms (None: the whole run so far) whose outcome is ``outcome``: at least
    ``minimum`` and/or at most ``maximum`` (fractions)."""

    yaml_key: ClassVar[str] = "requests"
    client: str
    outcome: str = "ok"
    window: int | None = None
    minimum: float | None = None
    maximum: float | None = None


@dataclass(frozen=True, kw_only=True)
class Event(Condition):
    """A trace event with ``kind`` (and ``node``, ``target``, any ``fields``) occurred.

    ``within`` ms from the start of the step (from 0 in the final ``expect``);
    ``count`` exact number of matches, None = at least one.
    """

    yaml_key: ClassVar[str] = "event"
    kind: str
    node: str | None = None
    target: str | None = None
    within: int | None = None
    count: int | None = None
    fields: Mapping[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------- steps and scenario


@dataclass(frozen=True, kw_only=True)
class Step(Located):
    """One step: when (``at`` absolute ms or ``after`` ms since the previous step, or
    neither = right after the previous step), then ``action``, then ``wait_for`` (all
    true, up to ``timeout`` ms), then ``expect`` (all true now). ``index`` is 0-based.
    """

    index: int
    at: int | None = None
    after: int | None = None
    action: Action | None = None
    wait_for: tuple[Condition, ...] = ()
    timeout: int = 60_000
    expect: tuple[Condition, ...] = ()
    caption: str | None = None


@dataclass(frozen=True, kw_only=True)
class Scenario(Located):
    """A whole validated scenario file. ``run_until`` None means: last step + 5 s."""

    name: str
    description: str | None
    seed: int
    cluster: ClusterSpec
    network: NetworkSpec
    clients: tuple[ClientSpec, ...]
    steps: tuple[Step, ...]
    run_until: int | None
    expect: tuple[Condition, ...]
    source: str  # the display name used in messages (path or scenarios/NAME.yaml)
    sha256: str  # of the file's bytes
    # Actions made live (what ``rcsim tui`` saves): each at the start of its ``at``
    # millisecond, apart from the steps, so the steps keep their numbers and timing.
    injections: tuple[Step, ...] = ()
    database: DatabaseSpec | None = None  # behind the cache-aside clients (docs/caching.md)

    DEFAULT_TAIL_MS: ClassVar[int] = 5000
