"""redis-cli planners (§16) against the real runs in tests/data/resharding.json."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.dataplane.redis_cli import (
    SETSLOT_REPLICA_ERROR,
    Master,
    PlanError,
    ReshardItem,
    Step,
    apply_moves,
    apply_reshard,
    check_cluster,
    expand_migrate,
    explicit_reshard_plan,
    move_slot_steps,
    rebalance_plan,
    reshard_all_sources,
    reshard_plan,
)
from simulator.dataplane.redis_cli_fix import (
    DISAGREE,
    fix_plan,
    fixed_masters,
    unreachable_warning,
)
from simulator.slots import CLUSTER_SLOTS, create_allocation, format_slot_ranges

DATA = json.loads((Path(__file__).parent / "data" / "resharding.json").read_text())

# redis-cli's node table is the entry node, then its CLUSTER NODES order (a hash-table
# order). The file records that order for the old masters in the add-node check output
# (e.g. "M: <id0> … M: <id2> … M: <id1>"); where the new nodes sit is not recorded, and
# only matters for the two empty masters of run 1, whose order the moves imply.
NODE_TABLE_ORDER = [[0, 1, 2, 3], [0, 2, 1, 4, 3], [0, 2, 3, 1, 4], [0, 1, 2], [0, 2, 1, 3]]


def _run_masters(run: dict, order: list[int]) -> list[Master]:
    initial = create_allocation(run["initial_masters"])
    total = run["initial_masters"] + run["added_empty_masters"]
    by_index = {
        i: Master(f"n{i}", tuple(initial[i]) if i < len(initial) else ()) for i in range(total)
    }
    assert {i: len(m.slots) for i, m in by_index.items()} == {
        int(k): v for k, v in run["slot_counts_before_rebalance"].items()
    }
    return [by_index[i] for i in order]


def _ranges(run_ranges: list[list[int]]) -> str:
    return " ".join(str(a) if a == b else f"{a}-{b}" for a, b in run_ranges)


@pytest.mark.parametrize("index", range(len(DATA["rebalance_runs"])))
def test_rebalance_reproduces_every_real_run(index: int) -> None:
    run = DATA["rebalance_runs"][index]
    masters = _run_masters(run, NODE_TABLE_ORDER[index])
    plan = rebalance_plan(masters, use_empty_masters=run["use_empty_masters_flag"])
    expected_moves = [
        (
            m["from"].strip("<>").replace("node", "n"),
            m["to"].strip("<>").replace("node", "n"),
            m["slots"],
        )
        for m in run["moves"]
    ]
    assert [(m.source, m.target, len(m.slots)) for m in plan.moves] == expected_moves
    assert plan.needed == bool(run["moves"])
    assert plan.message in run["redis_cli_rebalance_output"]
    final = {m.name: format_slot_ranges(m.slots) for m in apply_moves(masters, plan.moves)}
    assert final == {f"n{k}": _ranges(v) for k, v in run["slot_ranges_after"].items()}


def test_rebalance_tie_order_follows_node_table_order() -> None:
    """Equal balances keep node-table order (glibc qsort is a stable merge sort): with the
    two empty masters of run 1 swapped, n3 would receive first."""
    run = DATA["rebalance_runs"][1]
    masters = _run_masters(run, [0, 2, 1, 3, 4])
    plan = rebalance_plan(masters, use_empty_masters=True)
    assert (plan.moves[0].source, plan.moves[0].target) == ("n1", "n3")


@pytest.mark.parametrize("index", range(len(DATA["reshard_runs"])))
def test_reshard_run_moves_the_sources_lowest_100_slots(index: int) -> None:
    run = DATA["reshard_runs"][index]
    masters = [Master(f"n{i}", tuple(r)) for i, r in enumerate(create_allocation(3))]
    table = reshard_plan([masters[run["source_index"]]], "n1", run["moved_slot_count"])
    assert table == [ReshardItem(s, "n0") for s in range(100)]
    printed = re.findall(r"Moving slot (\d+) from <id(\d+)>", run["redis_cli_output"])
    assert [ReshardItem(int(slot), f"n{i}") for slot, i in printed] == table  # redis-cli's plan
    final = apply_reshard(masters, "n1", table)
    by_port_index = {t["index"]: _ranges(t["slots"]) for t in run["final_topology"]}
    assert {int(m.name[1:]): format_slot_ranges(m.slots) for m in final} == by_port_index
    assert by_port_index[0] == "100-5460" and by_port_index[1] == "0-99 5461-10922"


def test_reshard_first_source_rounds_up_others_down() -> None:
    a, b, c = Master.of("a", "0-99"), Master.of("b", "100-149"), Master.of("c", "150-199")
    table = reshard_plan([b, a, c], "t", 7)
    # a (100 slots) sorts first: 7*100/200 = 3.5 -> 4; b, c: 1.75 -> 1 each; 6 < 7.
    assert [(i.source, i.slot) for i in table] == [
        ("a", 0),
        ("a", 1),
        ("a", 2),
        ("a", 3),
        ("b", 100),
        ("c", 150),
    ]


def test_reshard_ties_keep_the_given_source_order() -> None:
    a, b = Master.of("a", "0-9"), Master.of("b", "10-19")
    assert [i.source for i in reshard_plan([b, a], "t", 4)] == ["b", "b", "a", "a"]
    assert [i.source for i in reshard_plan([a, b], "t", 4)] == ["a", "a", "b", "b"]


def test_reshard_all_sources_excludes_the_target() -> None:
    masters = [Master.of("a", "0-9"), Master.of("t", "10-19"), Master.of("b", "20-29")]
    assert [m.name for m in reshard_all_sources(masters, "t")] == ["a", "b"]


def test_reshard_refuses_bad_input() -> None:
    a = Master.of("a", "0-9")
    with pytest.raises(PlanError, match="target node as source"):
        reshard_plan([a], "a", 1)
    with pytest.raises(PlanError, match="from 1 to 16384"):
        reshard_plan([a], "t", 0)
    with pytest.raises(PlanError, match="No source nodes"):
        reshard_plan([], "t", 1)
    assert reshard_plan([Master("e")], "t", 5) == []


def test_explicit_reshard_moves_exactly_the_given_slots() -> None:
    masters = [Master.of("a", "0-9"), Master.of("b", "10-19")]
    assert explicit_reshard_plan(masters, "b", [3, 1]) == [ReshardItem(1, "a"), ReshardItem(3, "a")]
    with pytest.raises(PlanError, match="already owned"):
        explicit_reshard_plan(masters, "b", [10])
    with pytest.raises(PlanError, match="no owner"):
        explicit_reshard_plan(masters, "b", [100])


def test_rebalance_weights_and_threshold_quirks() -> None:
    masters = [Master.of("a", "0-8191"), Master.of("b", "8192-16383")]
    plan = rebalance_plan(masters, weights={"a": 3, "b": 1})
    assert [(m.source, m.target, len(m.slots)) for m in plan.moves] == [("b", "a", 4096)]
    # --cluster-threshold 0 never finds a node over the threshold (redis-cli's `threshold > 0`).
    assert not rebalance_plan(masters, weights={"a": 3}, threshold=0).needed
    with pytest.raises(PlanError, match="No such master node x"):
        rebalance_plan(masters, weights={"x": 1})
    with pytest.raises(PlanError, match="fix your cluster"):
        rebalance_plan([Master.of("a", "0-10")])


@st.composite
def partitions(draw: st.DrawFn, max_masters: int = 12) -> list[Master]:
    """Random full-coverage states: contiguous cut points, shuffled ownership, some empty."""
    n = draw(st.integers(2, max_masters))
    cuts = sorted(
        draw(
            st.lists(st.integers(1, CLUSTER_SLOTS - 1), min_size=n - 1, max_size=n - 1, unique=True)
        )
    )
    bounds = [0, *cuts, CLUSTER_SLOTS]
    owners = draw(st.lists(st.integers(0, n - 1), min_size=n, max_size=n))
    slots: list[list[int]] = [[] for _ in range(n)]
    for i in range(n):
        slots[owners[i]].extend(range(bounds[i], bounds[i + 1]))
    return [Master(f"m{i}", tuple(s)) for i, s in enumerate(slots)]


@settings(max_examples=60, deadline=None)
@given(partitions(), st.booleans())
def test_rebalance_conserves_slots_and_meets_expected_counts(
    masters: list[Master], empty: bool
) -> None:
    plan = rebalance_plan(masters, use_empty_masters=empty)
    final = apply_moves(masters, plan.moves)
    owned = [s for m in final for s in m.slots]
    assert sorted(owned) == list(range(CLUSTER_SLOTS))  # conserved, none given twice
    moved = [s for mv in plan.moves for s in mv.slots]
    assert len(moved) == len(set(moved))
    if plan.needed:
        involved = [m for m in masters if empty or m.slots]
        expected = CLUSTER_SLOTS // len(involved)  # float rounding agrees for these sizes
        counts = {m.name: len(m.slots) for m in final if m.name in {x.name for x in involved}}
        assert all(expected <= c <= expected + len(involved) for c in counts.values())
        # With at most 12 equal-weight masters the rounding leftover stays under 2 %,
        # so a second rebalance has nothing to do.
        assert not rebalance_plan(final, use_empty_masters=empty).needed


def test_second_rebalance_is_not_always_a_no_op() -> None:
    """redis-cli does not guarantee a fixed point: with 1000 masters expected is 16 and
    the 384 leftover slots leave nodes at 17 (6 % over), so it moves them again."""
    masters = [Master(f"m{i}", tuple(range(i * 16, i * 16 + 16))) for i in range(1000)]
    masters[-1] = Master("m999", tuple(range(999 * 16, CLUSTER_SLOTS)))
    first = rebalance_plan(masters)
    final = apply_moves(masters, first.moves)
    second = rebalance_plan(final)
    assert second.needed and second.moves


def test_move_slot_steps_order() -> None:
    steps = move_slot_steps(7, "a", "b", ["a", "c", "b", "d"], keys=[f"k{i}" for i in range(12)])
    rendered = [(s.node, s.commands()[0]) for s in steps]
    assert rendered[0] == ("b", ("CLUSTER", "SETSLOT", "7", "IMPORTING", "a"))
    assert rendered[1] == ("a", ("CLUSTER", "SETSLOT", "7", "MIGRATING", "b"))
    assert rendered[2] == ("a", ("CLUSTER", "GETKEYSINSLOT", "7", "10"))
    assert rendered[3] == (
        "a",
        ("MIGRATE", "b", "", "0", "60000", "KEYS", *[f"k{i}" for i in range(10)]),
    )
    assert rendered[5][1][-2:] == ("k10", "k11")
    assert rendered[6] == ("a", ("CLUSTER", "GETKEYSINSLOT", "7", "10"))
    assert [(n, c[3:]) for n, c in rendered[7:]] == [
        ("b", ("NODE", "b")),
        ("a", ("NODE", "b")),
        ("c", ("NODE", "b")),
        ("d", ("NODE", "b")),
    ]
    assert steps[8].tolerate == SETSLOT_REPLICA_ERROR


def test_move_slot_loop_step_expands_like_the_real_loop() -> None:
    loop = move_slot_steps(3, "a", "b", [])[2]
    assert loop.command == "MIGRATE_KEYS" and loop.count == 10
    assert [s.command for s in expand_migrate(loop, [])] == ["GETKEYSINSLOT"]
    assert len(expand_migrate(loop, ["x"] * 25)) == 7


_open = Master.of


def test_fix_case_1_finishes_an_interrupted_move() -> None:
    masters = [
        _open("a", "0-9", migrating={5: "b"}, keys={5: 3}),
        _open("b", "10-16383", importing={5: "a"}),
    ]
    plan = fix_plan(masters)
    assert any("Case 1: Moving slot 5 from a to b" in line for line in plan.log)
    after = {m.name: m for m in fixed_masters(masters, plan)}
    assert 5 in after["b"].slots and 5 not in after["a"].slots
    assert after["b"].key_count(5) == 3 and not after["a"].migrating and not after["b"].importing
    assert check_cluster(list(after.values())) == []


def test_fix_gives_the_slot_to_the_node_with_most_keys_when_keys_are_split() -> None:
    """Keys on the importing side make it a second "owner": redis-cli then picks the
    node with most keys, closes the other side and moves its keys there (Case 2)."""
    masters = [
        _open("a", "0-9", migrating={5: "b"}, keys={5: 3}),
        _open("b", "10-16383", importing={5: "a"}, keys={5: 2}),
    ]
    plan = fix_plan(masters)
    assert any("Case 2" in line for line in plan.log)
    after = {m.name: m for m in fixed_masters(masters, plan)}
    assert 5 in after["a"].slots and after["a"].key_count(5) == 5
    assert check_cluster(list(after.values())) == []


def test_fix_case_2_moves_keys_of_importing_nodes_to_the_owner() -> None:
    masters = [_open("a", "0-16383", keys={5: 1}), _open("b", "", importing={5: "a"}, keys={5: 4})]
    plan = fix_plan(masters)
    assert any("Case 2" in line for line in plan.log)
    after = {m.name: m for m in fixed_masters(masters, plan)}
    # b holds more keys, so b becomes the owner and a's key moves to b.
    assert 5 in after["b"].slots and 5 not in after["a"].slots
    assert after["b"].key_count(5) == 5 and after["a"].key_count(5) == 0
    assert check_cluster(list(after.values())) == []


def test_fix_case_4_closes_a_migrating_slot_without_importer() -> None:
    masters = [_open("a", "0-9", migrating={5: "b"}), _open("b", "10-16383")]
    plan = fix_plan(masters)
    assert plan.steps == (Step("a", "SETSLOT", 5, "STABLE"),)
    assert check_cluster(fixed_masters(masters, plan)) == []


def test_fix_unhandled_case_is_reported() -> None:
    masters = [
        _open("a", "0-4", migrating={5: "b"}),
        _open("b", "5-16383", keys={5: 3}),
        _open("c", "", importing={5: "a"}, keys={5: 1}),
        _open("d", "", importing={5: "a"}, keys={5: 1}),
    ]
    plan = fix_plan(masters)
    assert plan.unfixed == (5,)
    assert plan.log[-1] == (
        "[ERR] Sorry, redis-cli can't fix this slot yet (work in progress). "
        "Slot is set as migrating in a, as importing in c,d, owner is b"
    )


def test_fix_covers_unassigned_slots_by_keys() -> None:
    masters = [
        _open("a", "0-99", keys={200: 1, 300: 5}),
        _open("b", "100-199", keys={300: 9}),
        _open("c", "400-16383"),
    ]
    plan = fix_plan(masters, rng=random.Random(1))
    after = {m.name: m for m in fixed_masters(masters, plan)}
    assert 200 in after["a"].slots  # keys on one node only
    assert 300 in after["b"].slots and after["b"].key_count(300) == 14  # most keys wins
    keyless = [s for s in range(200, 400) if s not in (200, 300)]
    holders = {n for s in keyless for n, m in after.items() if s in m.slots}
    assert len(holders) == 1  # one random pick per run (srand(time(NULL)) quirk)
    assert check_cluster(list(after.values())) == []


def test_fix_case_3_moves_to_the_migrating_target_and_closes_the_others() -> None:
    masters = [
        _open("a", "0-9", migrating={5: "c"}, keys={5: 2}),
        _open("b", "10-99", importing={5: "a"}),
        _open("c", "100-16383", importing={5: "a"}),
    ]
    plan = fix_plan(masters)
    assert any("Case 3: Moving slot 5 from a to c" in line for line in plan.log)
    after = {m.name: m for m in fixed_masters(masters, plan)}
    assert 5 in after["c"].slots and after["c"].key_count(5) == 2
    assert check_cluster(list(after.values())) == []


def test_fix_open_slot_without_any_owner_goes_to_the_first_master() -> None:
    masters = [_open("a", "0-9"), _open("b", "11-16383", importing={10: "a"})]
    plan = fix_plan(masters)
    assert plan.log[1] == "*** Configuring a as the slot owner"
    after = {m.name: m for m in fixed_masters(masters, plan)}
    assert 10 in after["a"].slots and check_cluster(list(after.values())) == []


def test_fix_refuses_an_open_slot_with_unreachable_masters() -> None:
    masters = [_open("a", "0-9"), _open("b", "10-16383", importing={5: "x"})]
    refused = fix_plan(masters, unreachable=1)
    assert refused.steps == () and refused.unfixed == (5,)
    assert refused.error == unreachable_warning("open slots", 1) == refused.log[-1]
    forced = fix_plan(masters, unreachable=1, with_unreachable_masters=True)
    assert forced.error is None and forced.steps
    assert check_cluster(fixed_masters(masters, forced)) == []


def test_fix_refuses_the_coverage_pass_with_unreachable_masters() -> None:
    masters = [_open("a", "0-99"), _open("b", "200-16383")]
    refused = fix_plan(masters, unreachable=2)
    assert refused.steps == () and refused.error == unreachable_warning("slots coverage", 2)
    assert fix_plan(masters, unreachable=2, with_unreachable_masters=True).error is None


def test_fix_exit_status_is_the_last_check_that_set_it() -> None:
    """Nodes that disagree make redis-cli exit 1 when nothing is fixed after; a fixed
    open slot or coverage pass sets the result back to success."""
    clean = [_open("a", "0-9"), _open("b", "10-16383")]
    assert fix_plan(clean, consistent=False).error == DISAGREE
    assert fix_plan(clean).error is None
    opened = [_open("a", "0-9"), _open("b", "10-16383", importing={5: "a"})]
    assert fix_plan(opened, consistent=False).error is None
    unhandled = [
        _open("a", "0-4", migrating={5: "b"}),
        _open("b", "5-16383", keys={5: 3}),
        _open("c", "", importing={5: "a"}, keys={5: 1}),
        _open("d", "", importing={5: "a"}, keys={5: 1}),
    ]
    assert fix_plan(unhandled).error is not None
