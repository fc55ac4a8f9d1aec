"""What the injection dialogs prefill, accept and refuse (pure: no Textual).

The app's keys open a :class:`tui.modals.PromptScreen` with a prefilled line; these
functions build that line from ``sim.views``, check what the learner typed (an error
in words, or None) and turn it into the action's arguments (simulator/actions.py).
Partitions and cuts name client endpoints as well as nodes (the network holds both,
``Cluster.partition``), so a learner can put the client on the minority side.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from simulator.config import ConfigError, coerce
from simulator.slots import CLUSTER_SLOTS
from simulator.views import Views


def endpoints(views: Views) -> tuple[str, ...]:
    """Every name a partition or a cut may use: the nodes, then the clients."""
    return views.names() + views.client_names()


def _unknown(names: list[str], known: tuple[str, ...], what: str = "node or client") -> str | None:
    unknown = [n for n in names if n not in known]
    if not unknown:
        return None
    return f"unknown {what}(s): {', '.join(unknown)} (known: {' '.join(known)})"


# --------------------------------------------------------------------------- partition


def partition_default(views: Views, selected: str | None) -> str:
    """The selected node (with its master, if a replica) and the clients on one side,
    every other node on the other: the minority-partition story (writes at risk)."""
    node = views.node(selected)
    mine = [selected] if selected else []
    if node is not None and not node.is_master and node.master_name:
        mine.append(node.master_name)
    mine.extend(views.client_names())
    rest = [n for n in views.names() if n not in mine]
    return f"{' '.join(mine)} | {' '.join(rest)}"


def parse_groups(value: str) -> list[list[str]]:
    return [g.split() for g in value.split("|") if g.split()]


def check_groups(value: str, known: tuple[str, ...]) -> str | None:
    groups = parse_groups(value)
    if len(groups) < 2:
        return "give at least two groups separated by |"
    return _unknown([n for g in groups for n in g], known)


# --------------------------------------------------------------------------- cut


def parse_cut(value: str) -> tuple[list[str], list[str]] | None:
    if "->" not in value:
        return None
    left, right = value.split("->", 1)
    return left.split(), right.split()


def check_cut(value: str, known: tuple[str, ...]) -> str | None:
    parsed = parse_cut(value)
    if parsed is None or not parsed[0] or not parsed[1]:
        return "type: sources -> targets, e.g. n1 -> n2 n3 (clients too: app -> n1)"
    return _unknown(parsed[0] + parsed[1], known)


# --------------------------------------------------------------------------- reshard


@dataclass(frozen=True, slots=True)
class ReshardChoice:
    """Which slots go where: ``count`` slots (redis-cli picks them, §16.4) or the
    exact ``slots`` (a range list), to ``target``."""

    target: str
    count: int | None = None
    slots: tuple[int, ...] = ()

    def args(self, source: str) -> dict[str, object]:
        if self.slots:
            return {"source": source, "target": self.target, "slots": list(self.slots)}
        return {"source": source, "target": self.target, "count": self.count}


_RANGES = re.compile(r"^\d+(-\d+)?(,\d+(-\d+)?)*$")


def reshard_default(views: Views, source: str) -> str:
    """``100 <target>``, the target being the live master serving the fewest slots (a
    node just added with ``a``, the usual reason to reshard), first in creation order."""
    truth = views.truth()
    masters = [n for n in views.masters() if n != source and n in truth.alive]
    if not masters:
        return "100 "
    return f"100 {min(masters, key=truth.slot_count)}"


def parse_reshard(value: str) -> ReshardChoice | str:
    """``<count> <target>`` or ``<ranges> <target>`` (``0-99,200``): a choice or an error."""
    parts = value.split()
    usage = "type: <count> <target> (e.g. 100 n2) or <slots> <target> (e.g. 0-99,500 n2)"
    if len(parts) != 2:
        return usage
    spec, target = parts
    if spec.isdigit():
        return ReshardChoice(target, count=int(spec))
    if not _RANGES.match(spec):
        return usage
    slots: list[int] = []
    for part in spec.split(","):
        first, _, last = part.partition("-")
        low, high = int(first), int(last or first)
        if high < low or high >= CLUSTER_SLOTS:
            return f"{part}: slots run from 0 to {CLUSTER_SLOTS - 1}, low-high"
        slots.extend(range(low, high + 1))
    return ReshardChoice(target, slots=tuple(sorted(set(slots))))


def check_reshard(value: str, source: str, views: Views) -> str | None:
    choice = parse_reshard(value)
    if isinstance(choice, str):
        return choice
    if choice.target not in views.names():
        return f"unknown node '{choice.target}'"
    if choice.target == source:
        return f"the target must be another master than {source}"
    if choice.slots:
        truth = views.truth()
        foreign = [s for s in choice.slots if truth.owners[s] != source]
        if foreign:
            return (
                f"{source} does not serve slot {foreign[0]} (its owner: {truth.owners[foreign[0]]})"
            )
    return None


# --------------------------------------------------------------------------- set-config


def set_config_default(views: Views) -> str:
    """CONFIG SET on every node, prefilled with the cluster's node timeout: edit the
    value ("what if NT were 5 s?") or put a node's name instead of all."""
    return f"cluster-node-timeout {views.settings().value('cluster-node-timeout')} all"


def parse_set_config(value: str) -> tuple[str, str, object] | str:
    """``<directive> <value> [<node>|all]`` as (node, directive, value as CONFIG SET
    takes it), or an error in words."""
    parts = value.split()
    if len(parts) not in (2, 3):
        return "type: <directive> <value> [<node>|all], e.g. cluster-node-timeout 5000 all"
    try:
        setting = coerce(parts[0], parts[1])
    except ConfigError as error:
        return str(error)
    return (parts[2] if len(parts) == 3 else "all"), parts[0], setting


def check_set_config(value: str, views: Views) -> str | None:
    parsed = parse_set_config(value)
    if isinstance(parsed, str):
        return parsed
    node = parsed[0]
    if node != "all" and node not in views.names():
        return f"unknown node '{node}' (or all)"
    return None


# --------------------------------------------------------------------------- forget


def forget_default(views: Views, node: str) -> str:
    """Every node but the one forgotten: told everywhere, it leaves the cluster (§16.6)."""
    return " ".join(n for n in views.names() if n != node)


def check_forget(value: str, known: tuple[str, ...]) -> str | None:
    """Known names only; what each node replies (its master, itself) is Redis's to say."""
    named = value.split()
    if not named:
        return "name at least one node to run CLUSTER FORGET"
    return _unknown(named, known, "node")
