"""Issue 16 item 8: plain words everywhere in the TUI.

Every registered trace kind is rendered with the fields the bundled lessons emit (and,
for kinds no lesson emits, with the fields the registry declares), and no sentence may
carry internal text: object reprs, ``None``, Python lists or dicts, ``field=value``.
Injection notices and the key lookup are held to the same rule.
"""

from __future__ import annotations

import asyncio
import re
from functools import cache
from typing import Any

import pytest

from simulator.scenario.bundled import bundled_names
from simulator.trace_kinds import KINDS
from tests.shared_runs import ALL_LESSONS_SEED, group, lesson_run
from tests.test_tui_app import goto
from tui import render
from tui.app import RcsimApp
from tui.launch import scenario_session
from tui.words import describe, injected

INTERNAL = re.compile(
    r"object at 0x|\bNone\b|\[\[|\['|\{'|': |\w=\S|<\w+\.\w+|\b(data_age|error|ok)=|\(\)"
)

# Values for the kinds no bundled lesson emits, shaped as the code that emits them does.
SYNTHETIC: dict[str, dict[str, Any]] = {
    "shutdown": {"node": "n1"},
    "shutdown_wait": {"node": "n1", "replicas": 1, "timeout_ms": 10000},
    "node_removed": {"node": "n7"},
    "forget": {"node": "n4", "target": "n1", "reply": "ERR Can't forget my master!"},
    "election_delayed": {"node": "n5", "target": "n1", "rank": 1, "added_ms": 1000},
    "election_expired": {"node": "n5", "target": "n1", "epoch": 8},
    "cant_failover": {"node": "n4", "target": "n1", "reason": "data_age", "data_age_ms": 31000},
    "epoch_collision": {"node": "n2", "target": "n3", "epoch": 4},
    "mf_timeout": {"node": "n4"},
    "handshake_timeout": {"node": "n1", "target": "n7"},
    "keys_deleted": {"node": "n1", "slots": 3, "keys": 12},
    "repl_timeout": {"node": "n4", "target": "n1"},
    "backlog_freed": {"node": "n1", "ttl_s": 3600},
    "repl_replica_dropped": {"node": "n1", "target": "n4", "reason": "timeout"},
    "bus_message": {"node": "n2", "target": "n3", "type": "FAIL", "sent": 5142, "epoch": 6},
    # no bundled lesson emits these at seed 1 since the cron's period and phases (§6.1, §6.2)
    "vote_denied": {"node": "n2", "target": "n5", "epoch": 7, "reason": "already_voted"},
    "update_received": {"node": "n1", "target": "n4", "sender": "n2", "epoch": 7},
}


@cache
def emitted() -> dict[str, list[dict[str, Any]]]:
    """One event per kind and field shape (which fields, of which types) the lessons emit."""
    shapes: dict[str, dict[tuple[tuple[str, str], ...], dict[str, Any]]] = {}
    for name in bundled_names():
        for event in lesson_run(name, ALL_LESSONS_SEED).events():
            shape = tuple(sorted((k, type(v).__name__) for k, v in event.items()))
            shapes.setdefault(event["kind"], {}).setdefault(shape, event)
    return {kind: list(found.values()) for kind, found in shapes.items()}


def samples(kind: str) -> list[dict[str, Any]]:
    events = emitted().get(kind)
    if events:
        return events
    return [{"t": 1000, "kind": kind, **SYNTHETIC[kind]}]


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.xdist_group(group(seed=ALL_LESSONS_SEED))  # every lesson's run at seed 1
def test_every_trace_kind_has_a_plain_sentence(kind: str) -> None:
    for event in samples(kind):
        sentence = describe(event)
        assert sentence.strip(), kind
        assert not INTERNAL.search(sentence), (kind, event, sentence)


def test_a_failed_reshard_and_a_refused_failover_say_why() -> None:
    failed = {
        "t": 1,
        "kind": "reshard_done",
        "job": "reshard",
        "ok": False,
        "slots_moved": 0,
        "keys_moved": 0,
        "error": "[ERR] Calling MIGRATE: IOERR error or timeout reading to target instance n2",
    }
    assert describe(failed).startswith("redis-cli's reshard fails after 0 slots")
    assert "IOERR" in describe(failed)
    refused = {"t": 1, **SYNTHETIC["cant_failover"], "kind": "cant_failover"}
    assert "validity-factor" in describe(refused) and "31000 ms" in describe(refused)


def test_injection_notices_speak_operator_language() -> None:
    async def script(app: RcsimApp, pilot: Any) -> None:
        await goto(pilot, "1s")
        app.selected = "n2"
        await pilot.press("t", "enter")  # partition: n2 | the rest
        await pilot.press("e")
        app.selected = "n5"
        await pilot.press("f", "enter")
        app.selected = "n2"
        await pilot.press("R", *["backspace"] * 10, *"10 n3", "enter")
        await pilot.press("a")
        app.selected = "n1"
        await pilot.press("x", "x")  # the second kill is refused
        await pilot.pause()
        assert any(n.startswith("network split: n2 |") for n in notices)
        assert any(
            n.startswith("redis-cli --cluster reshard: 10 slots from n2 to n3") for n in notices
        )
        assert "kill -9 n1" in notices
        for notice in notices:
            assert not INTERNAL.search(notice), notice

    app = RcsimApp(scenario_session("master-crash", playing=False), live=False, budget_s=60.0)
    notices: list[str] = []  # recorded as sent (a toast expires after a few wall seconds)
    notify = app.notify

    def record(message: str, **kwargs: Any) -> None:
        notices.append(message)
        notify(message, **kwargs)

    app.notify = record  # type: ignore[method-assign]

    async def main() -> None:
        async with app.run_test(size=(140, 42)) as pilot:
            await pilot.pause()
            await script(app, pilot)

    asyncio.run(main())


def test_injected_words_never_show_reprs() -> None:
    assert injected("partition", {"groups": [["n1", "n4"], ["n2", "n3"]]}, "") == (
        "network split: n1 n4 | n2 n3"
    )
    assert injected("reshard", {"source": "n1", "target": "n2", "count": 5}, object()) == (
        "redis-cli --cluster reshard: 5 slots from n1 to n2"
    )
    assert injected("failover", {"node": "n4", "mode": "default"}, "OK") == (
        "CLUSTER FAILOVER on n4: OK"
    )


def test_forget_replies_are_grouped_by_what_each_node_said() -> None:
    replies = {"n2": "OK", "n4": "ERR Can't forget my master!", "n3": "OK"}
    words = injected("forget", {"node": "n1"}, replies)
    assert words == (
        "CLUSTER FORGET n1 on every other node: OK on n2 n3; ERR Can't forget my master! on n4"
    )
    assert not INTERNAL.search(words)


def test_key_lookup_of_a_missing_key_says_so() -> None:
    session = scenario_session("minority-partition", playing=False)
    session.seek(3000)
    text = render.key_lookup(session.sim.views.key("never-written")).plain
    assert "None" not in text
