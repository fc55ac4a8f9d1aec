"""Real partitions: iptables DROP rules between the nodes' loopback addresses.

As in the real-redis measurements (partition-heal.json): a partition drops every packet
between addresses on different sides, in both directions; a cut drops one direction.
The rules live in a chain of our own, jumped to from INPUT, and every change replaces
the whole chain in one ``iptables-restore --noflush`` (declaring a chain there flushes
it), so a partition appears and heals atomically. :meth:`Firewall.teardown` removes the
jump and the chain; it is registered with the cleanup stack the moment the chain exists.
Pollers connect from 127.0.0.1, which no rule names.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterable, Sequence

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


def restore_script(chain: str, pairs: Iterable[Pair]) -> str:
    """An ``iptables-restore --noflush`` input that replaces ``chain`` with ``pairs``."""
    lines = ["*filter", f":{chain} - [0:0]"]
    lines += [f"-A {chain} -s {a}/32 -d {b}/32 -j DROP" for a, b in sorted(pairs)]
    lines.append("COMMIT")
    return "\n".join(lines) + "\n"


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

    def __init__(self, chain: str, runner: Runner = run_command) -> None:
        self.chain = chain
        self.runner = runner
        self.blocked: set[Pair] = set()
        self.installed = False

    def setup(self) -> None:
        self.runner(["iptables", "-w", "-N", self.chain], None)
        self.installed = True
        self.runner(["iptables", "-w", "-I", "INPUT", "-j", self.chain], None)

    def apply(self, pairs: set[Pair]) -> None:
        """Make exactly ``pairs`` blocked, in one atomic replace of the chain."""
        self.runner(["iptables-restore", "-w", "--noflush"], restore_script(self.chain, pairs))
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
        for argv in (
            ["iptables", "-w", "-D", "INPUT", "-j", self.chain],
            ["iptables", "-w", "-F", self.chain],
            ["iptables", "-w", "-X", self.chain],
        ):
            try:
                self.runner(argv, None)
            except Exception as error:
                failures.append(str(error))
        self.installed = False
        self.blocked = set()
        if failures:
            raise RuntimeError("; ".join(failures))
