"""Real partitions: iptables DROP rules between the nodes' loopback addresses.

As in the real-redis measurements (partition-heal.json): a partition drops every packet
between addresses on different sides, in both directions; a cut drops one direction.
The rules live in a chain of our own, jumped to from INPUT, and every change replaces
the whole chain in one ``iptables-restore --noflush`` (declaring a chain there flushes
it), so a partition appears and heals atomically. :meth:`Firewall.teardown` removes the
jump and the chain; it is registered with the cleanup stack the moment the chain exists.
Pollers connect from 127.0.0.1, which no rule names.

Address rules miss one connection: MIGRATE connects without the node's
``bind-source-addr`` (migrateGetSocket, cluster.c), so its packets come from 127.0.0.1
(measured: benchmarks/realredis_migrate_cut.py). When the nodes run under uids of their
own (:data:`rcsim.verify.server.FIRST_UID`, as root), a second chain jumped to from OUTPUT
also drops every packet a node's process sends to a blocked destination, whatever its
source address (``-m owner --uid-owner``; OUTPUT is the only chain that knows the sending
process). A node's other connections (bus, replication) use its own address, so for them
the second chain changes nothing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterable, Mapping, Sequence

Pair = tuple[str, str]
"""(source address, destination address): packets from source to destination are dropped."""

Runner = Callable[[list[str], str | None], None]
"""Runs one command (argv, stdin text); raises on failure."""


def partition_pairs(groups: Sequence[Sequence[str]]) -> set[Pair]:
    """Both directions between every two addresses in different groups."""
    pairs: set[Pair] = set()
    for i, group in enumerate(groups):
        for other in groups[i + 1 :]:
            for a in group:
                for b in other:
                    pairs.add((a, b))
                    pairs.add((b, a))
    return pairs


def cut_pairs(sources: Iterable[str], targets: Iterable[str]) -> set[Pair]:
    """One direction: from every source to every target."""
    return {(a, b) for a in sources for b in targets if a != b}


def heal_pairs(blocked: set[Pair], groups: Sequence[Sequence[str]] | None) -> set[Pair]:
    """What stays blocked after healing ``groups`` (None: everything heals)."""
    if groups is None:
        return set()
    return blocked - partition_pairs(groups)


def restore_script(
    chain: str, pairs: Iterable[Pair], owners: Mapping[str, int] | None = None
) -> str:
    """An ``iptables-restore --noflush`` input that replaces ``chain`` with ``pairs``;
    with ``owners`` (address -> the uid its node runs as) it also replaces
    ``chain-OUT`` with the same pairs matched by the sending process's uid."""
    pairs = sorted(pairs)
    lines = ["*filter", f":{chain} - [0:0]"]
    lines += [f"-A {chain} -s {a}/32 -d {b}/32 -j DROP" for a, b in pairs]
    if owners is not None:
        out = output_chain(chain)
        lines.append(f":{out} - [0:0]")
        lines += [
            f"-A {out} -d {b}/32 -m owner --uid-owner {owners[a]} -j DROP"
            for a, b in pairs
            if a in owners
        ]
    lines.append("COMMIT")
    return "\n".join(lines) + "\n"


def output_chain(chain: str) -> str:
    return f"{chain}-OUT"


def run_command(argv: list[str], stdin: str | None) -> None:
    """The real runner: the command must succeed."""
    result = subprocess.run(argv, input=stdin, text=True, capture_output=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {result.stderr.strip() or result.returncode}")


def unavailable_reason() -> str | None:
    """Why real partitions cannot be made here (None: they can)."""
    if os.geteuid() != 0:
        return "partitions need iptables rules, which need root (run rcsim verify as root)"
    for tool in ("iptables", "iptables-restore"):
        if shutil.which(tool) is None:
            return f"partitions need {tool}, which is not on PATH (apt-get install iptables)"
    return None


class Firewall:
    """The run's iptables chain: :meth:`setup`, :meth:`apply` blocked pairs, :meth:`teardown`."""

    def __init__(self, chain: str, runner: Runner = run_command, owners: bool = False) -> None:
        self.chain = chain
        self.runner = runner
        self.blocked: set[Pair] = set()
        self.installed = False
        self._made: list[tuple[str, str]] = []  # (hook, chain) of every chain created
        self.owners: dict[str, int] | None = {} if owners else None
        """Node address -> its uid (filled as nodes start), when nodes run as their own uids."""

    def _jumps(self) -> list[tuple[str, str]]:
        jumps = [("INPUT", self.chain)]
        if self.owners is not None:
            jumps.append(("OUTPUT", output_chain(self.chain)))
        return jumps

    def setup(self) -> None:
        for hook, chain in self._jumps():
            self.runner(["iptables", "-w", "-N", chain], None)
            self.installed = True
            self._made.append((hook, chain))
            self.runner(["iptables", "-w", "-I", hook, "-j", chain], None)

    def apply(self, pairs: set[Pair]) -> None:
        """Make exactly ``pairs`` blocked, in one atomic replace of the chain(s)."""
        script = restore_script(self.chain, pairs, self.owners)
        self.runner(["iptables-restore", "-w", "--noflush"], script)
        self.blocked = set(pairs)

    def partition(self, groups: Sequence[Sequence[str]]) -> None:
        self.apply(self.blocked | partition_pairs(groups))

    def cut(self, sources: Iterable[str], targets: Iterable[str]) -> None:
        self.apply(self.blocked | cut_pairs(sources, targets))

    def heal(self, groups: Sequence[Sequence[str]] | None) -> None:
        self.apply(heal_pairs(self.blocked, groups))

    def teardown(self) -> None:
        """Remove the jump and the chain; every step is tried even if one fails."""
        if not self.installed:
            return
        failures: list[str] = []
        for hook, chain in self._made:
            for argv in (
                ["iptables", "-w", "-D", hook, "-j", chain],
                ["iptables", "-w", "-F", chain],
                ["iptables", "-w", "-X", chain],
            ):
                try:
                    self.runner(argv, None)
                except Exception as error:
                    failures.append(str(error))
        self.installed = False
        self._made = []
        self.blocked = set()
        if failures:
            raise RuntimeError("; ".join(failures))
