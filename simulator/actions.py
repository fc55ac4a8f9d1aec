"""The action registry: every verb ``Simulation.inject`` accepts, defined once.

An action is what a scenario step, the TUI or a test does to a running simulation
(kill a node, cut a link, write a key, reshard). Each :class:`ActionSpec` names the
verb, its arguments (as ``Simulation.inject(name, **args)`` takes them) and a one-line
doc, which is also the action's description in the scenario schema. The consumers read
this table: the scenario tables (``simulator/scenario/action_table.py``), the runner's
``action_call``, ``Simulation._apply`` (the cluster's verbs) and
``simulator.dataplane.actions`` (the data plane's verbs), the TUI's injections and the
session saver (``tui/session_io.py``). ``tests/test_actions_registry.py`` compares each
of them with it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Arg:
    """One argument of an action: name, value type (in words), required or not."""

    name: str
    type: str
    required: bool = False


@dataclass(frozen=True, slots=True)
class ActionSpec:
    """One action.

    ``owner``: ``"cluster"`` (``Simulation`` applies it) or ``"dataplane"`` (registered by
    ``simulator.dataplane.install``). ``scenario``: a scenario step can name it (as the
    YAML key ``name``). ``node_only``: its scenario form is just the node's name
    (``kill: n1``).
    """

    name: str
    args: tuple[Arg, ...]
    doc: str
    owner: str = "cluster"
    scenario: bool = True
    node_only: bool = False

    @property
    def arg_names(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.args)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.args if a.required)


_NODE = Arg("node", "node name", required=True)
_GROUPS = "list of groups (lists of node or client names)"
_PIPELINE = Arg("pipeline", "integer (keys per MIGRATE)")
_CLIENT = Arg("client", "client name")


def _node_verb(name: str, doc: str, *more: Arg) -> ActionSpec:
    return ActionSpec(name, (_NODE, *more), doc, node_only=True)


ACTIONS: dict[str, ActionSpec] = {
    a.name: a
    for a in (
        # ------------------------------------------------------------ the cluster's verbs
        _node_verb(
            "kill",
            "crash a node: the process dies at once, like kill -9",
            Arg("power_loss", "boolean (host power loss: unsynced writes are lost)"),
        ),
        ActionSpec(
            "kill-masters",
            (Arg("share", "number in (0, 1]: the fraction of the masters serving slots", True),),
            "crash a share of the masters at once (kill -9), chosen from the seed: the "
            "mass-failure experiment",
        ),
        _node_verb("pause", "freeze a node (SIGSTOP): it keeps its state and links"),
        _node_verb("resume", "unfreeze a paused node (SIGCONT)"),
        _node_verb(
            "restart",
            "start a crashed or stopped node again; a running or paused node is crashed "
            "first (kill -9, then restart)",
        ),
        _node_verb("shutdown", "SHUTDOWN: a clean stop (§21.3)"),
        ActionSpec(
            "partition",
            (Arg("groups", _GROUPS, required=True),),
            "split the network: each group reaches only its own members",
        ),
        ActionSpec(
            "cut",
            (Arg("from", "list of names", required=True), Arg("to", "list of names", True)),
            "a one-way cut: messages from 'from' to 'to' are dropped",
        ),
        ActionSpec(
            "heal",
            (Arg("groups", _GROUPS + ", or null for every link"),),
            "restore links: all of them, or those between the named groups",
        ),
        ActionSpec(
            "failover",
            (_NODE, Arg("mode", "default, force or takeover")),
            "CLUSTER FAILOVER [FORCE|TAKEOVER] sent to a replica (§12)",
        ),
        ActionSpec(
            "add-node",
            (Arg("name", "new node name"), Arg("replica_of", "master's name")),
            "redis-cli --cluster add-node: a new empty master, or a replica (§16.6)",
        ),
        _node_verb("del-node", "redis-cli --cluster del-node: remove an empty node (§16.6)"),
        ActionSpec(
            "forget",
            (_NODE, Arg("on_nodes", "list of node names (default: every running node but it)")),
            "CLUSTER FORGET the node on each node: how a dead node leaves (§16.6); a node "
            "not told re-learns it from gossip once its 60 s blacklist expires (§1.1)",
        ),
        ActionSpec(
            "set-config",
            (Arg("node", "node name or all"), Arg("settings", "mapping directive -> value")),
            "CONFIG SET on one node or all: Redis directive names (§1.2)",
        ),
        ActionSpec(
            "caption",
            (Arg("text", "text", required=True),),
            "narrate: a caption event in the trace (a step's caption: field)",
            scenario=False,
        ),
        # ------------------------------------------------------------ the data plane's verbs
        ActionSpec(
            "reshard",
            (
                Arg("source", "master's name", required=True),
                Arg("target", "master's name", required=True),
                Arg("count", "integer (how many slots)"),
                Arg("slots", "list of slot numbers"),
                _PIPELINE,
            ),
            "redis-cli --cluster reshard: move slots between masters (§16.3, §16.4)",
            owner="dataplane",
        ),
        ActionSpec(
            "rebalance",
            (
                Arg("weights", "mapping master -> weight"),
                Arg("threshold", "number (percent imbalance)"),
                Arg("use_empty_masters", "boolean"),
                _PIPELINE,
            ),
            "redis-cli --cluster rebalance (§16.5)",
            owner="dataplane",
        ),
        ActionSpec(
            "fix",
            (Arg("with_unreachable_masters", "boolean"),),
            "redis-cli --cluster fix (§16.6)",
            owner="dataplane",
        ),
        ActionSpec(
            "write",
            (
                Arg("key", "text", required=True),
                Arg("value", "text"),
                _CLIENT,
                Arg("ttl", "integer (ms): SET ... PX ttl"),
            ),
            "one SET from a client, following redirections (§15); without client: the "
            "scenario's first client, or a client named app made on first use",
            owner="dataplane",
        ),
        ActionSpec(
            "expire",
            (
                Arg("key", "text", required=True),
                Arg("ttl", "integer (ms)", required=True),
                _CLIENT,
            ),
            "one PEXPIRE from a client: the key expires after ttl (§26.1)",
            owner="dataplane",
        ),
        ActionSpec(
            "read",
            (Arg("key", "text", required=True), _CLIENT),
            "one GET from a client, following redirections (§15)",
            owner="dataplane",
        ),
        ActionSpec(
            "publish",
            (
                Arg("channel", "text", required=True),
                Arg("message", "text", required=True),
                Arg("node", "node name"),
                Arg("sharded", "boolean"),
            ),
            "PUBLISH or SPUBLISH (§19)",
            owner="dataplane",
        ),
        ActionSpec(
            "subscribe",
            (
                Arg("channel", "text", required=True),
                Arg("node", "node name"),
                _CLIENT,
                Arg("pattern", "boolean"),
                Arg("sharded", "boolean"),
            ),
            "SUBSCRIBE, PSUBSCRIBE or SSUBSCRIBE (§19)",
            owner="dataplane",
        ),
        ActionSpec(
            "workload",
            (
                Arg("client", "client name", required=True),
                Arg("rate", "number (requests/s)"),
                Arg("writes", "number (fraction)"),
            ),
            "change a client's workload",
            owner="dataplane",
        ),
        ActionSpec(
            "wait",
            (
                Arg("client", "client name", required=True),
                Arg("numreplicas", "integer", required=True),
                Arg("timeout", "integer (ms)", required=True),
                _NODE,
            ),
            "WAIT numreplicas timeout on a node after the client's writes there (§20.2)",
            owner="dataplane",
            scenario=False,
        ),
    )
}


def action(name: str) -> ActionSpec:
    """The registered action ``name`` (KeyError when unknown)."""
    return ACTIONS[name]


def names(owner: str | None = None) -> tuple[str, ...]:
    """Registered action names (of one owner), in registry order."""
    return tuple(n for n, a in ACTIONS.items() if owner is None or a.owner == owner)


NODE_ONLY = tuple(n for n, a in ACTIONS.items() if a.node_only)
"""Actions whose scenario form is the node's name alone (``kill: n1``)."""
