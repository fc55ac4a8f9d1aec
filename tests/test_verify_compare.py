"""The verify table: bounds for times (15 % or inside the real range) and states
(identical), rows in scenario order, and the Markdown text."""

from __future__ import annotations

from rcsim.verify.compare import Row, markdown, rows, state_in_bounds, time_in_bounds
from rcsim.verify.measure import Measures


def test_time_within_15_percent_of_the_real_median() -> None:
    assert time_in_bounds([1000, 1000, 1000], [1140])
    assert not time_in_bounds([1000, 1000, 1000], [1160])
    assert time_in_bounds([1000], [860])
    assert not time_in_bounds([1000], [840])


def test_short_times_are_judged_at_the_measurement_resolution() -> None:
    assert time_in_bounds([45], [5])
    assert not time_in_bounds([82], [35])


def test_time_inside_the_real_range_is_in_bounds() -> None:
    assert time_in_bounds([1000, 1100, 2000], [1900])


def test_never_on_both_sides_is_in_bounds_one_side_is_not() -> None:
    assert time_in_bounds([None, None], [None])
    assert not time_in_bounds([None, None], [1000])
    assert not time_in_bounds([1000, 1200], [None, None])
    assert time_in_bounds([1000, 1200, None], [1100])


def test_state_identical_or_among_the_real_values() -> None:
    assert state_in_bounds(["master", "master"], ["master"])
    assert not state_in_bounds(["master", "master"], ["master", "replica of n1"])
    assert state_in_bounds(["n4", "n7"], ["n4"])
    assert not state_in_bounds(["n4", "n7"], ["n5"])
    assert not state_in_bounds([], ["n4"])


def measures(pfail: int | None, wait: int | None, role: str, verdict: bool = True) -> Measures:
    return Measures(
        failovers=[
            {
                "node": "n1",
                "fault": "crash",
                "at": 2000,
                "first_pfail": pfail,
                "first_fail": None,
                "promoted": None,
                "all_ok": None,
            }
        ],
        waits={"step 3 wait_for promoted (line 9)": wait},
        final={"final role n4": role},
        results=[
            {
                "kind": "final",
                "step": None,
                "condition": "role",
                "passed": verdict,
                "observable": True,
                "loc": "x.yaml:12:5",
            },
            {
                "kind": "final",
                "step": None,
                "condition": "lost_writes",
                "passed": False,
                "observable": False,
                "loc": "x.yaml:13:5",
            },
        ],
    )


def test_rows_in_order_and_unobservable_verdicts_left_out() -> None:
    table = rows(
        [measures(2500, 600, "master"), measures(2600, 700, "master")],
        [measures(2200, 900, "master")],
    )
    labels = [r.label for r in table]
    assert labels == [
        "n1 crash: first PFAIL",
        "n1 crash: first FAIL",
        "n1 crash: promotion",
        "n1 crash: every node ok",
        "step 3 wait_for promoted (line 9)",
        "end expect role (line 12)",
        "final role n4",
    ]
    verdict = {r.label: r.in_bounds() for r in table}
    assert verdict["n1 crash: first PFAIL"]  # 2200 vs 2550: ratio 0.86
    assert verdict["n1 crash: first FAIL"]  # never on both sides
    assert not verdict["step 3 wait_for promoted (line 9)"]  # 900 vs 650
    assert verdict["final role n4"]


def test_markdown_cells() -> None:
    table = [
        Row("n1 crash: first PFAIL", "time", (2500, 2600, None), (2200, 2300)),
        Row("final role n4", "state", ("master", "master"), ("replica of n1",)),
    ]
    text = markdown(table)
    assert "| n1 crash: first PFAIL ms | 2550 [2500–2600] (1× never) | 2250 | 0.88 | yes |" in text
    assert "| final role n4 | master | replica of n1 |  | **no** |" in text
    assert Row("x", "time", (1000, 1100), (3000,)).as_dict()["in_bounds"] is False
