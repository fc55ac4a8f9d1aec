"""The data plane's simulation actions (``Simulation.inject`` verbs) and :func:`install`.

Handlers are module-level functions ``handler(sim, **args)`` that look the data plane
up in ``sim.extras["dataplane"]`` at call time, so they keep working after a rewind
(the model is then a deep copy). Bad arguments raise ``ValueError``, which the
simulation reports as an ``ActionError`` naming the action.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeAlias

from simulator.dataplane.cache_aside import EXTRAS_KEY as CACHE_EXTRAS
from simulator.dataplane.cache_aside import attach_spec
from simulator.dataplane.client_op import Op
from simulator.dataplane.clients import REQUEST_PATH, Client
from simulator.dataplane.local_cache import CacheOptions
from simulator.dataplane.model import ClusterData
from simulator.dataplane.redis_cli import (
    MIGRATE_PIPELINE,
    REBALANCE_THRESHOLD,
    check_cluster,
    explicit_reshard_plan,
    rebalance_plan,
    reshard_plan,
)
from simulator.dataplane.redis_cli_fix import fix_plan
from simulator.dataplane.resharding import Job, Loaded, load_cluster
from simulator.dataplane.service import ServiceModel

if TYPE_CHECKING:
    from simulator.simulation import Simulation

Plane: TypeAlias = "ClusterData[Client, Job]"
"""The data plane with everything installed: its clients and redis-cli jobs."""

DEFAULT_CLIENT = "app"
"""The client a write/read without ``client`` uses (created on first use)."""


def dataplane_of(sim: Simulation) -> Plane:
    dp = sim.extras.get("dataplane")
    if not isinstance(dp, ClusterData):
        raise ValueError("this simulation has no data plane (call simulator.dataplane.install)")
    return dp


def client_of(dp: Plane, name: str | None, create: bool = True) -> Client:
    """The client called ``name`` (default :data:`DEFAULT_CLIENT`), created if allowed."""
    name = name or DEFAULT_CLIENT
    client = dp.clients.get(name)
    if client is not None:
        return client
    if not create:
        raise ValueError(f"unknown client '{name}' (known: {', '.join(dp.clients) or 'none'})")
    return add_client(dp, name)


def cache_options(spec: Any) -> CacheOptions | None:
    """A scenario's ``local_cache`` as the client's options (None: no local cache)."""
    if spec is None:
        return None
    return CacheOptions(
        mode=spec.mode, prefixes=tuple(spec.prefixes), flush_on=tuple(spec.flush_on)
    )


def add_client(dp: Plane, name: str, **options: Any) -> Client:
    """A new client endpoint; its name must not be a node's."""
    if name in dp.cluster.nodes or name in dp.cluster.removed:
        raise ValueError(f"client name '{name}' is already a node's name")
    if name in dp.clients:
        raise ValueError(f"a client named '{name}' already exists")
    client = Client(dp, name, **options)
    dp.clients[name] = client
    return client


# ---------------------------------------------------------------------- handlers


def write(
    sim: Simulation,
    key: str,
    value: str | None = None,
    client: str | None = None,
    ttl: int | None = None,
) -> Op:
    """One SET from a client, following redirections (§15); ``ttl`` ms: ``PX ttl`` (§26.1)."""
    if ttl is not None and (isinstance(ttl, bool) or not isinstance(ttl, int) or ttl < 1):
        raise ValueError(f"write: ttl must be a positive number of ms, got {ttl!r}")
    c = client_of(dataplane_of(sim), client)
    argv = ["SET", key, value if value is not None else f"{c.name}:{c.seq + 1}"]
    return c.command(*argv, *(("PX", str(ttl)) if ttl is not None else ()))


def expire(sim: Simulation, key: str, ttl: int, client: str | None = None) -> Op:
    """One PEXPIRE from a client, following redirections (§26.1)."""
    if isinstance(ttl, bool) or not isinstance(ttl, int) or ttl < 0:
        raise ValueError(f"expire: ttl must be a number of ms >= 0, got {ttl!r}")
    return client_of(dataplane_of(sim), client).command("PEXPIRE", key, str(ttl))


def read(sim: Simulation, key: str, client: str | None = None) -> Op:
    """One GET from a client, following redirections (§15)."""
    return client_of(dataplane_of(sim), client).command("GET", key)


def publish(
    sim: Simulation,
    channel: str,
    message: str,
    node: str | None = None,
    sharded: bool = False,
) -> Op:
    """PUBLISH (or SPUBLISH) sent by the client ``publisher`` to ``node`` (§19)."""
    dp = dataplane_of(sim)
    if node is not None:
        dp.cluster.node(node)
    argv = ("SPUBLISH" if sharded else "PUBLISH", channel, message)
    return client_of(dp, "publisher").command(*argv, node=node)


def subscribe(
    sim: Simulation,
    channel: str,
    node: str | None = None,
    client: str | None = None,
    pattern: bool = False,
    sharded: bool = False,
) -> Op:
    """SUBSCRIBE / PSUBSCRIBE / SSUBSCRIBE by a subscriber client on ``node`` (§19)."""
    dp = dataplane_of(sim)
    if pattern and sharded:
        raise ValueError("subscribe: a shard channel cannot be a pattern")
    if node is not None:
        dp.cluster.node(node)
    name = client or f"sub{sum(1 for c in dp.clients if c.startswith('sub')) + 1}"
    command = "SSUBSCRIBE" if sharded else "PSUBSCRIBE" if pattern else "SUBSCRIBE"
    return client_of(dp, name).command(command, channel, node=node)


def workload(
    sim: Simulation, client: str, rate: float | None = None, writes: float | None = None
) -> None:
    """Change a client's workload (rate 0 stops it)."""
    if rate is not None and rate < 0:
        raise ValueError(f"workload: rate must be >= 0, got {rate}")
    if writes is not None and not 0 <= writes <= 1:
        raise ValueError(f"workload: writes must be a fraction in 0..1, got {writes}")
    client_of(dataplane_of(sim), client, create=False).set_workload(rate, writes)


def wait(sim: Simulation, client: str, numreplicas: int, timeout: int, node: str) -> Op:
    """``WAIT numreplicas timeout`` on ``node`` after the client's writes there (§20.3)."""
    return client_of(dataplane_of(sim), client).command(
        "WAIT", str(numreplicas), str(timeout), node=node
    )


def reshard(
    sim: Simulation,
    source: str,
    target: str,
    count: int | None = None,
    slots: Sequence[int] | None = None,
    pipeline: int = MIGRATE_PIPELINE,
) -> Job:
    """``redis-cli --cluster reshard --cluster-from source --cluster-to target`` (§16.4)."""
    dp = dataplane_of(sim)
    for name in (source, target):
        dp.cluster.node(name)  # an unknown name is the scenario's error, not redis-cli's
    loaded = load_cluster(dp, first=source)
    _refuse_on_errors(loaded, "resharding")
    masters = loaded.masters
    known = {m.name for m in masters}
    for name in (target, source):  # clusterNodeForResharding, the target first
        if name not in known:
            raise ValueError(
                f"*** The specified node ({name}) is not known or not a master, please retry."
            )
    if slots is not None:
        plan = explicit_reshard_plan(masters, target, slots)
    elif count is not None:
        plan = reshard_plan([m for m in masters if m.name == source], target, count)
    else:
        raise ValueError("reshard: give 'count' or 'slots'")
    moves = [(item.slot, item.source, target) for item in plan]
    job = Job(dp, "reshard", moves=moves, pipeline=pipeline, others=[m.name for m in masters])
    dp.jobs.append(job)
    job.start(source=source, target=target, slots=len(moves))
    return job


def rebalance(
    sim: Simulation,
    weights: Mapping[str, float] | None = None,
    threshold: float = REBALANCE_THRESHOLD,
    use_empty_masters: bool = False,
    pipeline: int = MIGRATE_PIPELINE,
) -> Job | None:
    """``redis-cli --cluster rebalance`` (§16.5); ``None`` when nothing needs moving."""
    dp = dataplane_of(sim)
    loaded = load_cluster(dp)
    _refuse_on_errors(loaded, "rebalancing")
    masters = loaded.masters
    plan = rebalance_plan(masters, weights, threshold, use_empty_masters)
    if not plan.needed:
        dp.emit("caption", None, text=plan.message)
        return None
    moves = [(slot, m.source, m.target) for m in plan.moves for slot in m.slots]
    job = Job(dp, "rebalance", moves=moves, pipeline=pipeline, others=[m.name for m in masters])
    dp.jobs.append(job)
    job.start(slots=len(moves), moves=[[m.source, m.target, len(m.slots)] for m in plan.moves])
    return job


def fix(sim: Simulation, with_unreachable_masters: bool = False) -> Job:
    """``redis-cli --cluster fix`` (§16.6): close open slots, cover unassigned ones; it
    refuses (exit 1) while a master is unreachable, unless ``with_unreachable_masters``."""
    dp = dataplane_of(sim)
    loaded = load_cluster(dp)
    plan = fix_plan(
        loaded.masters,
        rng=dp.cluster.engine.rng("redis-cli-fix"),
        unreachable=loaded.unreachable,
        with_unreachable_masters=with_unreachable_masters,
        consistent=loaded.consistent,
    )
    others = [m.name for m in loaded.masters]
    job = Job(dp, "fix", steps=list(plan.steps), others=others, exit_error=plan.error)
    dp.jobs.append(job)
    job.start(steps=len(plan.steps), log=list(plan.log), unfixed=list(plan.unfixed))
    return job


def _refuse_on_errors(loaded: Loaded, what: str) -> None:
    errors = check_cluster(loaded.masters, loaded.consistent)
    if errors:
        raise ValueError(f"*** Please fix your cluster problems before {what}: {' '.join(errors)}")


ACTIONS: dict[str, Callable[..., Any]] = {
    "write": write,
    "expire": expire,
    "read": read,
    "publish": publish,
    "subscribe": subscribe,
    "workload": workload,
    "wait": wait,
    "reshard": reshard,
    "rebalance": rebalance,
    "fix": fix,
}


def install(sim: Simulation, scenario: Any = None, dataplane: Plane | None = None) -> Plane:
    """Attach the data plane to ``sim`` (unless it was built with one), register the
    actions, and start the scenario's clients. Returns the data plane."""
    current = sim.cluster.dataplane
    if isinstance(current, ClusterData):
        dp = current
    else:
        dp = dataplane or ClusterData()
        sim.cluster.dataplane = dp
        dp.attach(sim.cluster)
    dp.requests = REQUEST_PATH  # the state layer calls the request path through it
    dp.ready()
    sim.extras["dataplane"] = dp
    scale = getattr(getattr(scenario, "cluster", None), "service_scale", None)
    if scale is not None:  # cluster.service: one thread per node (§28.4)
        dp.service = ServiceModel(scale=scale)
    for name, handler in ACTIONS.items():
        sim.register_action(name, handler)
    for spec in getattr(scenario, "clients", ()) or ():
        client = add_client(
            dp,
            spec.name,
            writes=spec.writes,
            keys=spec.keys,
            key_count=spec.key_count,
            ttl_ms=getattr(spec, "ttl_ms", None),
            multi=getattr(spec, "multi", 0.0),
            local_cache=cache_options(getattr(spec, "local_cache", None)),
        )
        if getattr(spec, "cache", None) is not None:
            plane = attach_spec(dp, client, spec.cache, getattr(scenario, "database", None))
            sim.extras[CACHE_EXTRAS] = plane
        client.set_workload(rate=spec.rate)
    restart = getattr(sim, "restart_checkpoints", None)
    if restart is not None and sim.now == 0:
        restart()  # rewinding to 0 must find the data plane in the model
    return dp
