"""rcsim verify's iptables rules: built as pure data, applied atomically, always removed.

A fake runner records the commands; no rule is installed by the unit suite."""

from __future__ import annotations

import pytest

from rcsim.verify.firewall import (
    Firewall,
    cut_pairs,
    heal_pairs,
    partition_pairs,
    restore_script,
)

A, B, C, D = "127.0.0.20", "127.0.0.21", "127.0.0.22", "127.0.0.23"


class Recorder:
    def __init__(self, fail_on: str | None = None) -> None:
        self.commands: list[tuple[list[str], str | None]] = []
        self.fail_on = fail_on

    def __call__(self, argv: list[str], stdin: str | None) -> None:
        self.commands.append((argv, stdin))
        if self.fail_on is not None and self.fail_on in argv:
            raise RuntimeError(f"{' '.join(argv)}: failed")


def test_partition_blocks_both_directions_between_groups_only() -> None:
    pairs = partition_pairs([[A, B], [C]])
    assert pairs == {(A, C), (C, A), (B, C), (C, B)}


def test_three_groups_block_every_cross_pair() -> None:
    assert len(partition_pairs([[A], [B], [C, D]])) == 2 * (1 + 2 + 2)


def test_cut_is_one_way() -> None:
    assert cut_pairs([A], [B, C]) == {(A, B), (A, C)}


def test_heal_all_and_heal_between_groups() -> None:
    blocked = partition_pairs([[A], [B], [C]])
    assert heal_pairs(blocked, None) == set()
    assert heal_pairs(blocked, [[A], [B]]) == {(A, C), (C, A), (B, C), (C, B)}


def test_restore_script_replaces_the_chain_in_sorted_order() -> None:
    script = restore_script("RCSIM-X", {(B, A), (A, B)})
    assert script == (
        "*filter\n:RCSIM-X - [0:0]\n"
        f"-A RCSIM-X -s {A}/32 -d {B}/32 -j DROP\n"
        f"-A RCSIM-X -s {B}/32 -d {A}/32 -j DROP\n"
        "COMMIT\n"
    )


def test_empty_chain_script_flushes_it() -> None:
    assert restore_script("RCSIM-X", set()) == "*filter\n:RCSIM-X - [0:0]\nCOMMIT\n"


def test_firewall_lifecycle_commands() -> None:
    runner = Recorder()
    firewall = Firewall("RCSIM-T", runner)
    firewall.setup()
    firewall.partition([[A], [B, C]])
    firewall.cut([D], [A])
    firewall.heal([[A], [B, C]])
    assert firewall.blocked == {(D, A)}
    firewall.heal(None)
    firewall.teardown()
    argvs = [argv for argv, _ in runner.commands]
    assert argvs[0] == ["iptables", "-w", "-N", "RCSIM-T"]
    assert argvs[1] == ["iptables", "-w", "-I", "INPUT", "-j", "RCSIM-T"]
    assert all(argv == ["iptables-restore", "-w", "--noflush"] for argv in argvs[2:6])
    assert runner.commands[5][1] == "*filter\n:RCSIM-T - [0:0]\nCOMMIT\n"
    assert argvs[6:] == [
        ["iptables", "-w", "-D", "INPUT", "-j", "RCSIM-T"],
        ["iptables", "-w", "-F", "RCSIM-T"],
        ["iptables", "-w", "-X", "RCSIM-T"],
    ]
    assert not firewall.installed


def test_teardown_tries_every_step_even_when_one_fails() -> None:
    runner = Recorder(fail_on="-D")
    firewall = Firewall("RCSIM-T", runner)
    firewall.setup()
    with pytest.raises(RuntimeError, match="-D"):
        firewall.teardown()
    assert [argv[2] for argv, _ in runner.commands[2:]] == ["-D", "-F", "-X"]


def test_teardown_without_setup_does_nothing() -> None:
    runner = Recorder()
    Firewall("RCSIM-T", runner).teardown()
    assert runner.commands == []


def test_with_owners_the_output_chain_drops_a_nodes_packets_by_uid() -> None:
    """MIGRATE leaves from 127.0.0.1, not the node's address: only the sending process's
    uid tells it is n1's (A, uid 64200) packet to n2 (B)."""
    script = restore_script("RCSIM-X", {(A, B), (C, A)}, {A: 64200, B: 64201})
    assert script == (
        "*filter\n:RCSIM-X - [0:0]\n"
        f"-A RCSIM-X -s {A}/32 -d {B}/32 -j DROP\n"
        f"-A RCSIM-X -s {C}/32 -d {A}/32 -j DROP\n"
        ":RCSIM-X-OUT - [0:0]\n"
        f"-A RCSIM-X-OUT -d {B}/32 -m owner --uid-owner 64200 -j DROP\n"
        "COMMIT\n"
    )  # C is a client address: no process of ours to match


def test_firewall_with_owners_hooks_input_and_output_and_removes_both() -> None:
    runner = Recorder()
    firewall = Firewall("RCSIM-T", runner, owners=True)
    firewall.setup()
    assert firewall.owners is not None
    firewall.owners.update({A: 64200, B: 64201})
    firewall.cut([A], [B])
    firewall.teardown()
    argvs = [argv for argv, _ in runner.commands]
    assert argvs[:4] == [
        ["iptables", "-w", "-N", "RCSIM-T"],
        ["iptables", "-w", "-I", "INPUT", "-j", "RCSIM-T"],
        ["iptables", "-w", "-N", "RCSIM-T-OUT"],
        ["iptables", "-w", "-I", "OUTPUT", "-j", "RCSIM-T-OUT"],
    ]
    assert f"-A RCSIM-T-OUT -d {B}/32 -m owner --uid-owner 64200 -j DROP" in str(
        runner.commands[4][1]
    )
    assert argvs[5:] == [
        ["iptables", "-w", "-D", "INPUT", "-j", "RCSIM-T"],
        ["iptables", "-w", "-F", "RCSIM-T"],
        ["iptables", "-w", "-X", "RCSIM-T"],
        ["iptables", "-w", "-D", "OUTPUT", "-j", "RCSIM-T-OUT"],
        ["iptables", "-w", "-F", "RCSIM-T-OUT"],
        ["iptables", "-w", "-X", "RCSIM-T-OUT"],
    ]
