"""Request outcomes are defined once: every consumer lists the registry's, in its order."""

from __future__ import annotations

from pathlib import Path

from simulator.dataplane import model, server
from simulator.dataplane.outcomes import DOCS as OUTCOME_DOCS
from simulator.dataplane.outcomes import NAMES as REQUEST_OUTCOMES
from simulator.harness import report
from tui import model as tui_model

DOCS_DIR = Path(__file__).resolve().parent.parent / "docs"


def test_every_consumer_lists_the_registry() -> None:
    assert report.REQUEST_OUTCOMES == REQUEST_OUTCOMES
    assert model.OUTCOME_NAMES == REQUEST_OUTCOMES
    assert tui_model.OUTCOMES == REQUEST_OUTCOMES
    assert tuple(OUTCOME_DOCS) == REQUEST_OUTCOMES


def test_the_report_counts_crossslot_too() -> None:
    assert "crossslot" in report.REQUEST_OUTCOMES


def test_the_server_only_produces_registered_outcomes() -> None:
    assert set(server.OUTCOME_OF_ROUTE.values()) <= set(REQUEST_OUTCOMES)


def test_the_data_plane_docs_list_the_registry() -> None:
    text = (DOCS_DIR / "data-plane.md").read_text(encoding="utf-8")
    assert f"`outcome` ({'/'.join(REQUEST_OUTCOMES)})" in text
