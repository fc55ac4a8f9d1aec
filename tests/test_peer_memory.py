"""The shared empty containers and times of peer views (memory at 2,000 nodes) behave as
each view's own: copies, pickles and the first write never leak between views."""

from __future__ import annotations

import copy
import pickle

import pytest

from simulator.node.peer import NO_REPORTS, PeerView, add_fail_report
from simulator.simulation import Simulation


def test_fresh_views_share_the_empty_reports_and_the_first_report_gives_a_dict_of_its_own() -> None:
    a, b = PeerView("n1", "id1", 0, 0), PeerView("n2", "id2", 1, 0)
    assert a.fail_reports is NO_REPORTS and b.fail_reports is NO_REPORTS
    with pytest.raises(TypeError):
        a.fail_reports["n3"] = 1
    add_fail_report(a, "n3", 10)
    add_fail_report(a, "n4", 20)
    add_fail_report(a, "n3", 30)  # a repeated report keeps its place, with the new time
    assert list(a.fail_reports.items()) == [("n3", 30), ("n4", 20)]
    assert b.fail_reports == {} and not NO_REPORTS


def test_copies_keep_sharing_the_empty_reports_and_share_nothing_they_change() -> None:
    view = PeerView("n1", "id1", 0, 0)
    for clone in (copy.copy(view), copy.deepcopy(view), pickle.loads(pickle.dumps(view))):
        assert clone.fail_reports is NO_REPORTS
        clone.voted_time = 5
        clone.fail_time = 7
        add_fail_report(clone, "n2", 1)
        assert view.voted_time == -(10**12) and view.fail_time == 0
        assert view.fail_reports is NO_REPORTS


def test_a_checkpoint_of_a_running_cluster_is_independent_of_it() -> None:
    sim = Simulation(masters=3, replicas=1, seed=2)
    sim.run_until(3000)
    saved = copy.deepcopy(sim)
    view = sim.cluster.node("n2").peers["n1"]
    add_fail_report(view, "n3", sim.now)
    view.orphaned_time = sim.now
    old = saved.cluster.node("n2").peers["n1"]
    assert old.fail_reports is NO_REPORTS and old.orphaned_time == 0
