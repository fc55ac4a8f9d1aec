"""A real cluster of the scenario's topology on loopback, built as ``redis-cli --cluster
create`` does (§17.2): each master ADDSLOTS its ranges, every node gets its own
``CLUSTER SET-CONFIG-EPOCH`` (1, 2, ... in creation order), every other node MEETs the
first, and once all know each other each replica runs ``CLUSTER REPLICATE``. Then it
waits until healthy (the definition of the real-redis measurements): every node
``cluster_state:ok``, knows every node with only master/slave/myself flags and connected
links, all agree on slots and roles, and every replica's ``master_link_status:up``.

Slot ranges and replica placement are the scenario's (rcsim's fixed rule for generated
topologies, §17.1), not redis-cli's anti-affinity shuffle, so step names mean the same
nodes on both sides.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rcsim.verify import figures, keyspace, keystate, standalone
from rcsim.verify.cacheclients import CachingClients
from rcsim.verify.cleanup import Cleanup
from rcsim.verify.clients import (
    EVICTED_BY,
    FIRST_CLIENT_HOST,
    Ack,
    ClusterClient,
    Workload,
    client_host,
    lost_count,
    read_owned,
)
from rcsim.verify.clusterview import parse_info, views_healthy
from rcsim.verify.events import EventLog
from rcsim.verify.firewall import Firewall
from rcsim.verify.logevents import LogTail, parse_line
from rcsim.verify.multikey import MultiWorkload
from rcsim.verify.poller import Clock, Observations, Poller
from rcsim.verify.pubsub import RealPubSub
from rcsim.verify.resp import CLIENT_SOURCE, Connection, RespError
from rcsim.verify.scenario_api import model
from rcsim.verify.server import FIRST_UID, NodeProcess, ServerBinary, directive_value
from rcsim.verify.slotmove import Endpoint, move_slots

HEALTHY_TIMEOUT_S = 60.0
ANSI_COLOUR = re.compile(r"\x1b\[[0-9;]*m")  # redis-cli colours its log lines
DEFAULT_CLIENT = "app"
"""The client of a write/read step without ``client`` (simulator/dataplane/actions.py's
DEFAULT_CLIENT; tests/test_verify_keyspace.py checks they agree)."""


def slot_ranges(slots: Sequence[int]) -> list[tuple[int, int]]:
    """Contiguous ranges of sorted slots, for ``CLUSTER ADDSLOTSRANGE``."""
    ranges: list[tuple[int, int]] = []
    for slot in sorted(slots):
        if ranges and slot == ranges[-1][1] + 1:
            ranges[-1] = (ranges[-1][0], slot)
        else:
            ranges.append((slot, slot))
    return ranges


class RealCluster:
    """The nodes, their pollers, the firewall and the observations of one real run."""

    def __init__(
        self,
        scenario: model.Scenario,
        binary: ServerBinary,
        workdir: Path,
        cleanup: Cleanup,
        firewall: Firewall | None,
    ) -> None:
        self.scenario = scenario
        self.binary = binary
        self.workdir = workdir
        self.cleanup = cleanup
        self.firewall = firewall
        self.clock = Clock()
        self.observations = Observations()
        self.names: dict[str, str] = {}  # node ID -> scenario name
        self.log = EventLog(self.names)
        self.nodes: dict[str, NodeProcess] = {}
        self.pollers: dict[str, Poller] = {}
        self.logs: dict[str, LogTail] = {}
        self.workloads: dict[str, Workload] = {}
        self.acks: list[Ack] = []
        self.in_flight: set[str] = set()  # values of SETs sent and not answered yet
        self.acks_lock = threading.Lock()
        self.redis_cli = shutil.which("redis-cli") or "redis-cli"
        self.with_stats = keystate.needs_stats(scenario)
        self.standalone = standalone.is_standalone(scenario)  # one instance (§28)
        self.bus_at_start: dict[str, dict[str, int]] = {}
        self.observer: keyspace.Observer | None = None
        cleanup.push("pollers", self.stop_pollers)
        self.pubsub = RealPubSub(
            lambda name: (self.nodes[name].host, self.nodes[name].port),
            self.owner_of,
            self.running,
            FIRST_CLIENT_HOST + len(scenario.clients),
            cleanup,
        )
        self.caching = CachingClients(
            scenario, self.now, self.log.add, self._owner_address, cleanup
        )

    # ------------------------------------------------------------------ building

    def _settings(self, spec: model.NodeSpec) -> dict[str, Any]:
        """The node's directives: the scenario's, with the notification classes the
        conditions need (rcsim.verify.keyspace) and without maxmemory, which is set once
        the run's connections are open (rcsim.verify.keystate)."""
        settings = {**self.scenario.cluster.config, **spec.config}
        classes = keyspace.needed_classes(self.scenario)
        if classes:
            own = keyspace.own_flags(settings)
            settings["notify-keyspace-events"] = keyspace.merged_flags(own, classes)
        settings.pop("maxmemory", None)
        return settings

    def add_process(self, name: str, settings: Mapping[str, Any]) -> NodeProcess:
        index = len(self.nodes)
        owners = None if self.firewall is None else self.firewall.owners
        uid = None if owners is None else FIRST_UID + index
        node = NodeProcess(name, index, self.binary, self.workdir, settings, self.cleanup, uid)
        if owners is not None and uid is not None:
            owners[node.host] = uid
        node.start()
        self.nodes[name] = node
        self.names[node.node_id] = name
        self.logs[name] = LogTail(node.directory / "server.log")
        self._start_poller(node)
        return node

    def _start_poller(self, node: NodeProcess) -> None:
        poller = (
            standalone.poller(self, node)
            if self.standalone
            else Poller(
                node.name, node.connect, self.names, self.clock, self.observations, self.with_stats
            )
        )
        self.pollers[node.name] = poller
        poller.start()

    def stop_pollers(self) -> None:
        for poller in self.pollers.values():
            poller.stop()
        for poller in self.pollers.values():
            poller.join(timeout=2)

    def create(self) -> None:
        """Start every node and join them as redis-cli --cluster create does (one
        instance, ``topology: standalone``: rcsim.verify.standalone builds it)."""
        specs = self.scenario.cluster.nodes
        if self.standalone:
            standalone.build(self)
        else:
            self._join(specs)
        if keyspace.needed_classes(self.scenario):
            self._observe_keyspace()

    def _join(self, specs: Sequence[model.NodeSpec]) -> None:
        for spec in specs:
            self.add_process(spec.name, self._settings(spec))
        for spec in specs:
            for low, high in slot_ranges(spec.slots):
                self.nodes[spec.name].call("CLUSTER", "ADDSLOTSRANGE", low, high)
        for epoch, spec in enumerate(specs, 1):
            self.nodes[spec.name].call("CLUSTER", "SET-CONFIG-EPOCH", epoch)
        first = self.nodes[specs[0].name]
        for spec in specs[1:]:
            self.nodes[spec.name].call("CLUSTER", "MEET", first.host, first.port)
        self._wait(lambda: self._all_know(len(specs)), "every node to know every other")
        for spec in specs:
            if spec.replica_of is not None:
                master = self.nodes[spec.replica_of]
                self.nodes[spec.name].call("CLUSTER", "REPLICATE", master.node_id)
        self._wait(self.healthy, "the cluster to be healthy")

    def _observe_keyspace(self) -> None:
        """Notifications of every node become key_expired / key_evicted / keyspace_event."""
        policies = {
            spec.name: str(self._config(spec).get("maxmemory-policy", "noeviction"))
            for spec in self.scenario.cluster.nodes
        }
        self.observer = keyspace.Observer(
            keyspace.own_flags(self.scenario.cluster.config),
            lambda node: policies.get(node),
            self.pubsub.subscribers,
            lambda t, event: self.log.add_logged(t, event),
            self.now,
        )
        self.cleanup.push("keyspace observer", self.observer.close)
        self.observer.start((n, p.host, p.port) for n, p in self.nodes.items())

    def _config(self, spec: model.NodeSpec) -> dict[str, Any]:
        return {**self.scenario.cluster.config, **spec.config}

    def _apply_maxmemory(self) -> None:
        """Each node with maxmemory gets the same room for keys as in rcsim (keystate)."""
        for spec in self.scenario.cluster.nodes:
            wanted = keystate.maxmemory_of(self._config(spec))
            node = self.nodes.get(spec.name)
            if wanted is None or node is None or node.status != "running":
                continue
            connection = node.connect(timeout=2.0)
            try:
                if spec.replica_of is None:  # the replication buffer's first block exists
                    key = keystate.key_in(spec.slots)
                    connection.pipeline([("SET", key, "x"), ("DEL", key)])
                used = keystate.used_memory(connection)
                config = self._config(spec)
                start = keystate.start_memory(
                    config, keystate.has_backlog(spec, self.scenario.cluster.nodes)
                )
                real = keystate.real_maxmemory(wanted, used, start)
                connection.call("CONFIG", "SET", "maxmemory", real)
            finally:
                connection.close()

    def bus_counters(self) -> dict[str, dict[str, int]]:
        """Each running node's ``cluster_stats_messages_<type>_sent`` (CLUSTER INFO)."""
        out: dict[str, dict[str, int]] = {}
        for name in self.running():
            try:
                info = parse_info(str(self.nodes[name].call("CLUSTER", "INFO", timeout=1.0)))
            except (OSError, ValueError, RespError):
                continue
            out[name] = {
                key[len("cluster_stats_messages_") : -len("_sent")]: int(value)
                for key, value in info.items()
                if key.startswith("cluster_stats_messages_")
                and key.endswith("_sent")
                and key != "cluster_stats_messages_sent"
                and value.isdigit()
            }
        return out

    def probe(self, name: str, key: str) -> tuple[bool, bool] | None:
        """(stored, readable) of ``key`` on ``name``; None if it does not answer."""
        node = self.nodes.get(name)
        if node is None or node.status != "running":
            return None
        try:
            connection = node.connect(timeout=0.5)
        except OSError:
            return None
        try:
            return keystate.probe(connection, key)
        except (OSError, ValueError, RespError):
            return None
        finally:
            connection.close()

    def stale(self, name: str) -> int | None:
        """Expired keys still in ``name``'s memory at its latest INFO stats poll."""
        latest = self.observations.latest_stats().get(name)
        if latest is None:
            return None
        t, values = latest
        deadlines = sorted(d for node, d in self.deadlines() if node == name)
        return keystate.stale(deadlines, t, values.get("expired_keys", 0))

    def counters(self) -> dict[str, dict[str, int]]:
        """Each node's latest polled INFO stats counters (a paused node's last answer)."""
        return {name: values for name, (_, values) in self.observations.latest_stats().items()}

    def _wait(self, predicate: Any, what: str, timeout: float = HEALTHY_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise RuntimeError(f"gave up waiting for {what} after {timeout:g}s")
            time.sleep(0.05)

    def _all_know(self, count: int) -> bool:
        views = self.observations.views()
        return len(views) == count and all(
            len(v.peers) == count
            and all(not p.flags & {"handshake", "noaddr"} for p in v.peers.values())
            for v in views.values()
        )

    def healthy(self) -> bool:
        views = self.observations.views()
        running = [n for n, p in self.nodes.items() if p.status == "running"]
        if not views_healthy(views, running, self.names):
            return False
        for name in running:
            if views[name].role() == "replica":
                info = parse_info(str(self.nodes[name].call("INFO", "replication")))
                if info.get("master_link_status") != "up":
                    return False
        return True

    def start_clock(self) -> None:
        """The scenario's time 0: the clock restarts and the history starts afresh."""
        if figures.idle(self.scenario):
            self.bus_at_start = self.bus_counters()
        with self.observations.lock:
            self.clock.reset()
            self.observations.history.clear()
        for tail in self.logs.values():
            tail.new_lines()  # what was logged while building is not part of the run

    def refresh_events(self) -> None:
        """Bring the event log up to date with the polls and the nodes' log lines."""
        self.log.consume(self.observations.samples())
        views = self.observations.views()

        def master_of(name: str) -> str | None:
            view = views.get(name)
            return None if view is None else view.master_name(self.names)

        for name, tail in self.logs.items():
            for line in tail.new_lines():
                parsed = parse_line(line, name, self.names, master_of, tail.memory)
                if parsed is not None:
                    unix_ms, event = parsed
                    self.log.add_logged(unix_ms - self.clock.wall_origin_ms, event)

    def now(self) -> float:
        return self.clock.now_ms()

    def status(self) -> dict[str, str]:
        return {name: node.status for name, node in self.nodes.items()}

    def running(self) -> list[str]:
        return [name for name, node in self.nodes.items() if node.status == "running"]

    def _owner_address(self, slot: int) -> tuple[str, int] | None:
        name = self.owner_of(slot)
        return None if name is None else (self.nodes[name].host, self.nodes[name].port)

    def owner_of(self, slot: int) -> str | None:
        """The running master that claims ``slot`` in its own view (highest configEpoch)."""
        views = self.observations.views()
        claims = [
            (view.me.config_epoch, name)
            for name in self.running()
            if (view := views.get(name)) is not None
            and view.me is not None
            and view.role() == "master"
            and slot in view.me.slots
        ]
        return max(claims)[1] if claims else None

    # ------------------------------------------------------------------ actions

    def set_config(self, target: str, values: Mapping[str, Any]) -> None:
        names = (
            [n for n, p in self.nodes.items() if p.status == "running"]
            if target == "all"
            else [target]
        )
        for name in names:
            for key, value in values.items():
                self.nodes[name].call("CONFIG", "SET", key, directive_value(value).strip('"'))

    def failover(self, name: str, mode: str) -> str:
        args: list[str | int] = ["CLUSTER", "FAILOVER"]
        if mode != "default":
            args.append(mode.upper())
        return str(self.nodes[name].call(*args))

    def hosts(self, names: Sequence[str]) -> list[str]:
        """The loopback addresses of nodes and clients."""
        clients = {spec.name: client_host(k) for k, spec in enumerate(self.scenario.clients)}
        return [
            self.nodes[n].host if n in self.nodes else clients.get(n) or self.pubsub.host(n)
            for n in names
        ]

    # ------------------------------------------------------------------ clients

    def _seeds(self) -> list[tuple[str, int]]:
        return [(p.host, p.port) for p in self.nodes.values() if p.status == "running"]

    def _node_at(self, address: tuple[str, int]) -> str:
        return next((n for n, p in self.nodes.items() if (p.host, p.port) == address), "")

    def _emit_request(self, node: str, fields: dict[str, Any]) -> None:
        self.log.add(self.now(), "request", node or None, **fields)

    def start_clients(self) -> None:
        """The scenario's workload clients, from time 0 (as rcsim starts them); with
        maxmemory, each has a connection to every node before maxmemory is set."""
        clients = [
            self._client(spec.name, client_host(k)) for k, spec in enumerate(self.scenario.clients)
        ]
        if any(keystate.maxmemory_of(self._config(s)) for s in self.scenario.cluster.nodes):
            for client in clients:
                client.warm(self._seeds())
            self._apply_maxmemory()
        for client, spec in zip(clients, self.scenario.clients, strict=True):
            workload = self._workload_of(client, spec)
            self.workloads[spec.name] = workload
            workload.start()
        self.cleanup.push("clients", lambda: self.stop_clients(wait=False))

    def stop_clients(self, wait: bool = True) -> None:
        for workload in self.workloads.values():
            workload.stop(wait)

    def workload(self, name: str | None) -> Workload:
        """A client by name (default: the scenario's first client; without clients,
        rcsim's default client, made on first use from 127.0.0.1, sending only the steps'
        commands)."""
        if name is None:
            name = self.scenario.clients[0].name if self.scenario.clients else DEFAULT_CLIENT
        if name not in self.workloads and name == DEFAULT_CLIENT:
            spec = model.ClientSpec(name=name, rate=0.0, loc=self.scenario.cluster.loc)
            self.workloads[name] = self._workload_of(self._client(name, CLIENT_SOURCE), spec)
        return self.workloads[name]

    def _client(self, name: str, source: str) -> ClusterClient:
        if self.standalone:
            master = standalone.master_address(self.scenario)
            return standalone.StandaloneClient(
                name, source, self._seeds, self._node_at, master=master
            )
        return ClusterClient(name, source, self._seeds, self._node_at)

    def _workload_of(self, client: ClusterClient, spec: model.ClientSpec) -> Workload:
        """A client's workload, sharing the run's write ledger and clock (a caching
        client's from rcsim.verify.cacheclients; with ``multi``, rcsim.verify.multikey's)."""
        shared = (self.acks, self.in_flight, self.acks_lock, self.now, self._emit_request)
        caching = self.caching.workload(client, spec, *shared)
        if caching is not None:
            return caching
        extra = {"multi": spec.multi} if spec.multi else {}
        return (MultiWorkload if spec.multi else Workload)(
            client,
            spec,
            self.acks,
            self.in_flight,
            self.acks_lock,
            self.now,
            self._emit_request,
            **extra,
        )

    def deadlines(self) -> list[tuple[str, float]]:
        """(node, ms) of every acknowledged write with a TTL, all clients."""
        with self.acks_lock:
            return [d for w in self.workloads.values() for d in w.deadlines]

    def lost_writes(self) -> int:
        """Acknowledged writes no longer readable from their slot's owner (rcsim's ledger rule)."""
        with self.acks_lock:
            keys = sorted({ack[1] for ack in self.acks})

        def owner(slot: int) -> tuple[str, int] | None:
            name = self.owner_of(slot)
            return None if name is None else (self.nodes[name].host, self.nodes[name].port)

        reads = read_owned(keys, owner, lambda address: Connection(*address, timeout=2.0))
        evicted: list[Ack] = [
            (self.clock.origin + e["t"] / 1000, e["key"], None, e["node"], EVICTED_BY)
            for e in self.log.events()
            if e["kind"] == "key_evicted"
        ]
        with self.acks_lock:
            return lost_count(list(self.acks) + evicted, set(self.in_flight), reads)

    def requests_by_outcome(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for event in self.log.events():
            if event["kind"] == "request":
                counts[event["outcome"]] = counts.get(event["outcome"], 0) + 1
        return dict(sorted(counts.items()))

    def any_running(self) -> NodeProcess:
        return next(p for p in self.nodes.values() if p.status == "running")

    def redis_cli_args(self, action: model.Action) -> list[str]:
        """The ``redis-cli --cluster`` command line of a reshard / rebalance / fix."""
        entry = self.any_running().endpoint
        if isinstance(action, model.Reshard):
            return [
                "--cluster", "reshard", entry,
                "--cluster-from", self.nodes[action.source].node_id,
                "--cluster-to", self.nodes[action.target].node_id,
                "--cluster-slots", str(action.count),
                "--cluster-pipeline", str(action.pipeline),
                "--cluster-yes",
            ]  # fmt: skip
        if isinstance(action, model.Rebalance):
            args = ["--cluster", "rebalance", entry, "--cluster-threshold", f"{action.threshold:g}"]
            for name, weight in sorted(action.weights.items()):
                args += ["--cluster-weight", f"{self.nodes[name].node_id}={weight:g}"]
            if action.use_empty_masters:
                args.append("--cluster-use-empty-masters")
            return [*args, "--cluster-pipeline", str(action.pipeline)]
        args = ["--cluster", "fix", entry, "--cluster-yes"]
        if isinstance(action, model.Fix) and action.with_unreachable_masters:
            args.append("--cluster-fix-with-unreachable-masters")
        return args

    def run_cli_job(self, job: str, args: list[str]) -> None:
        """Run redis-cli in the background; its end is a ``reshard_done`` event."""
        output = self.workdir / f"redis-cli-{job}-{len(self.log.events())}.log"
        with output.open("wb") as stream:
            process = self.cleanup.spawn(
                [self.redis_cli, *args],
                stdin=subprocess.DEVNULL,
                stdout=stream,
                stderr=subprocess.STDOUT,
            )

        def wait() -> None:
            code = process.wait()
            text = ANSI_COLOUR.sub("", output.read_text(errors="replace")) if code else ""
            error = next((line for line in reversed(text.splitlines()) if line.strip()), None)
            self.log.add(
                self.now(), "reshard_done", job=job, ok=code == 0, exit_code=code, error=error
            )

        threading.Thread(target=wait, name=f"redis-cli-{job}", daemon=True).start()

    def run_slot_move(self, action: model.Reshard) -> None:
        """A reshard of named slots, by redis-cli's per-slot commands, in the background."""
        assert action.slots is not None
        views = self.observations.views()

        def endpoint(name: str) -> Endpoint:
            node = self.nodes[name]
            return Endpoint(node.host, node.port, node.node_id)

        masters = [
            endpoint(n)
            for n, p in self.nodes.items()
            if p.status == "running" and n in views and views[n].role() == "master"
        ]
        source, target = endpoint(action.source), endpoint(action.target)
        slots, pipeline = list(action.slots), action.pipeline

        def work() -> None:
            error = move_slots(source, target, masters, slots, pipeline)
            self.log.add(self.now(), "reshard_done", job="reshard", ok=error is None, error=error)

        threading.Thread(target=work, name="slot-move", daemon=True).start()

    def run_cli(self, args: list[str], timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
        """Run redis-cli to completion (add-node, del-node)."""
        process = self.cleanup.spawn(
            [self.redis_cli, *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        out, _ = process.communicate(timeout=timeout)
        return subprocess.CompletedProcess(
            process.args, process.returncode, out.decode(errors="replace"), ""
        )

    def add_node(self, action: model.AddNode) -> None:
        entry = self.any_running().endpoint
        node = self.add_process(action.name, dict(self.scenario.cluster.config))
        args = ["--cluster", "add-node", node.endpoint, entry]
        if action.replica_of is not None:
            args += [
                "--cluster-slave",
                "--cluster-master-id",
                self.nodes[action.replica_of].node_id,
            ]
        result = self.run_cli(args)
        if result.returncode != 0:
            raise RuntimeError(
                f"redis-cli --cluster add-node failed: {result.stdout.strip()[-300:]}"
            )

    def del_node(self, name: str) -> None:
        node = self.nodes[name]
        entry = next(
            p for n, p in self.nodes.items() if p.status == "running" and n != name
        ).endpoint
        result = self.run_cli(["--cluster", "del-node", entry, node.node_id])
        if result.returncode != 0:
            raise RuntimeError(
                f"redis-cli --cluster del-node failed: {result.stdout.strip()[-300:]}"
            )
        if node.process is not None:
            node.process.wait(timeout=30)
        node.status = "dead"
        self.pollers[name].stop()
