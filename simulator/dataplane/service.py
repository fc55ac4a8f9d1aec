"""The per-node service model: one thread runs every command, one at a time (§28.4).

Redis executes commands on its main thread: ``aeProcessEvents`` reads a client's
query (``readQueryFromClient``), ``processCommand`` checks it and ``call()`` runs it,
and the reply is written in ``beforeSleep`` (``handleClientsWithPendingWrites``); the
next command waits for all of that. So a node has a capacity (commands per second);
past it, commands queue in the sockets, the queue grows, and every command's latency
grows with it. Off by default (``cluster.service`` in a scenario turns it on), so runs
without it are unchanged.

With the model on, a request that reaches a running node is admitted to the node's
queue: it starts when the thread is free, takes :func:`cost_us` microseconds, and is
executed (and its reply sent) when it finishes. The queue is FIFO in arrival order.

A subscriber's socket write is paid once per event-loop pass (a pass reads every
command that arrived by its start), so PUBLISHes queued together share it.

Simplified: only client commands cost time (the cluster bus, replication, the active
expire cycle and ``serverCron`` are free); a command's cost does not depend on value
sizes; a pass is charged nothing of its own (epoll, the other replies' writes are in
:data:`CALIBRATION_OVERHEAD_US`); subscribers of two channels, or of a pattern, are
written once per channel; no I/O threads.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from simulator.dataplane.pubsub import PubSubRegistry

CALIBRATION_OVERHEAD_US = 7.0
"""What every command costs outside ``call()``: reading and parsing the query, the
dispatch, writing the reply (one ``read`` and one ``write`` system call per command
without pipelining). With :data:`CALIBRATION_CALL_US` a GET or SET takes 8 µs in all, a
node's capacity 125,000 of them per second: the order of the non-pipelined SET/GET
rates of redis-benchmark on one Redis thread shown on redis.io's benchmark page ("How
fast is Redis?": about 70,000 to 180,000 per second depending on the machine). Checked
against the real server's own CPU time per GET/SET from 50 connections
(tests/data/service-cpu.json): 12.2-12.4 µs on this 2-core VM, so 0.65 of it (an
earlier run that hour, not kept, gave 8.2-10.0 µs: the VM's system calls vary)."""

CALIBRATION_CALL_US = 1.0
"""``call()`` of a one-key command (GET, SET, INCR, ...): INFO commandstats
``usec_per_call`` of GET 0.90 and SET 1.18 on Redis 7.0.15 (tests/data/service-costs.json)."""

CALIBRATION_KEY_US = 0.75
"""Each key of a multi-key command after the first (MSET, MGET, DEL, EXISTS): MSET of 10
keys has ``usec_per_call`` 7.74 on Redis 7.0.15, (7.74 - 1.0) / 9 = 0.75 µs a key
(tests/data/service-costs.json). Checked on MGET (0.67 µs a key) and EXISTS (0.54: no
values to build), tests/data/service-cpu.json."""

CALIBRATION_RECEIVER_CALL_US = 0.12
"""Each subscriber a PUBLISH or SPUBLISH reaches on the node, inside ``call()`` (the
message appended to its reply buffer): ``usec_per_call`` with 100 subscribers less with
none, over 100, is 0.116 µs with 50 publishers and 0.132 with one
(tests/data/service-cpu.json); 0.066 in the earlier tests/data/service-costs.json."""

CALIBRATION_SUBSCRIBER_WRITE_US = 4.6
"""Writing a subscriber's pending messages to its socket: ``beforeSleep`` →
``handleClientsWithPendingWrites`` makes one ``write`` per client with output per
event-loop pass, however many messages the pass gave it. Fitted on one publisher, where
every PUBLISH is a pass of its own: 4.73 µs of server CPU per subscriber reached, less
:data:`CALIBRATION_RECEIVER_CALL_US` (tests/data/service-cpu.json). Checked on 50
publishers, where one write carries a pass's worth of messages: real 0.24 µs per
subscriber per message (tests/test_service_model.py)."""


def cost_us(argv: tuple[str, ...], receivers: int = 0, written: int | None = None) -> float:
    """The microseconds ``argv`` occupies a node's thread (before the scenario's scale);
    ``receivers`` is how many subscribers a PUBLISH or SPUBLISH reaches on that node, and
    ``written`` how many of them this command's pass writes to because of it (all of
    them, unless an earlier command of the same pass published on the same channel)."""
    name = argv[0].upper() if argv else ""
    keys = 0
    if name in ("MGET", "DEL", "EXISTS"):
        keys = len(argv) - 1
    elif name == "MSET":
        keys = (len(argv) - 1) // 2
    cost = CALIBRATION_OVERHEAD_US + CALIBRATION_CALL_US + CALIBRATION_KEY_US * max(0, keys - 1)
    writes = receivers if written is None else written
    return (
        cost + CALIBRATION_RECEIVER_CALL_US * receivers + CALIBRATION_SUBSCRIBER_WRITE_US * writes
    )


def receivers(registry: PubSubRegistry, argv: tuple[str, ...]) -> int:
    """How many subscribers on this node a PUBLISH/SPUBLISH ``argv`` reaches (else 0)."""
    name = argv[0].upper() if argv else ""
    if name not in ("PUBLISH", "SPUBLISH") or len(argv) != 3:
        return 0
    publish = registry.spublish if name == "SPUBLISH" else registry.publish
    return publish(argv[1], argv[2]).receivers


@dataclass
class NodeQueue:
    """One node's thread: when it is next free, and what it has done (over all its
    processes: a restart empties the queue, not the counts)."""

    generation: int = -1  # the process (NodeData.generation) the queue belongs to
    free_at: float = 0.0  # ms: when the command now last in the queue finishes
    # The event-loop pass being formed: it reads what arrived by ``pass_start`` (the end
    # of the pass before, or an idle thread's next arrival), and the channels it
    # published on so far (their subscribers' write is already paid this pass).
    pass_start: float = -1.0
    pass_channels: set[tuple[str, str]] = field(default_factory=set)
    queued: int = 0  # admitted and not finished
    max_queued: int = 0
    served: int = 0
    busy_ms: float = 0.0


@dataclass
class ServiceModel:
    """Every node's thread; ``scale`` multiplies every cost (a slower machine)."""

    scale: float = 1.0
    queues: dict[str, NodeQueue] = field(default_factory=dict)

    def queue(self, name: str, generation: int) -> NodeQueue:
        """Node ``name``'s queue; a new process (``generation``) starts with an empty one."""
        queue = self.queues.get(name)
        if queue is None:
            queue = self.queues[name] = NodeQueue(generation=generation)
        elif queue.generation != generation:  # what the dead process queued died with it
            queue.generation, queue.free_at, queue.queued = generation, 0.0, 0
            queue.pass_start = -1.0
        return queue

    def admit(
        self, name: str, generation: int, now: float, argv: tuple[str, ...], receivers: int = 0
    ) -> float:
        """Put a command that reached node ``name`` at ``now`` (ms) in its queue; returns
        when it finishes (ms). A command that arrives after the pass being formed started
        reading opens the next one, which starts when the thread is free."""
        queue = self.queue(name, generation)
        if now > queue.pass_start:
            queue.pass_start = max(now, queue.free_at)
            queue.pass_channels.clear()
        written = receivers
        if receivers:
            channel = (argv[0].upper(), argv[1])
            if channel in queue.pass_channels:
                written = 0
            queue.pass_channels.add(channel)
        service_ms = cost_us(argv, receivers, written) * self.scale / 1000.0
        queue.free_at = max(queue.free_at, now) + service_ms
        queue.busy_ms += service_ms
        queue.queued += 1
        queue.max_queued = max(queue.max_queued, queue.queued)
        return queue.free_at

    def finished(self, name: str, generation: int) -> bool:
        """A command admitted by process ``generation`` of node ``name`` finished; False
        when that process died meanwhile (the command died with it)."""
        queue = self.queues.get(name)
        if queue is None or queue.generation != generation:
            return False
        queue.queued -= 1
        queue.served += 1
        return True

    def utilisation(self, name: str, elapsed_ms: float) -> float:
        """The share of ``elapsed_ms`` the node's thread was busy (0 when never used)."""
        queue = self.queues.get(name)
        return 0.0 if queue is None or elapsed_ms <= 0 else min(1.0, queue.busy_ms / elapsed_ms)

    def report(self, elapsed_ms: float) -> dict[str, dict[str, float]]:
        """Per node (in the order they first served): commands served, the share of
        ``elapsed_ms`` its thread was busy, and the longest queue it had."""
        return {
            name: {
                "served": queue.served,
                "busy": round(self.utilisation(name, elapsed_ms), 4),
                "max_queued": queue.max_queued,
            }
            for name, queue in self.queues.items()
        }
