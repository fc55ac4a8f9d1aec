"""The app's injection keys: crash, pause, restart, partition, cut, heal, failover,
reshard, add-node, fix, rebalance, del-node, forget and CONFIG SET, each applied to the
live simulation through :meth:`tui.model.Session.inject` (recorded, so a saved session
replays it). A base of :class:`tui.app.RcsimApp`, split out of it to keep it short; the
dialogs' prefills and checks are :mod:`tui.dialogs` (pure).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from simulator.simulation import ActionError
from tui import dialogs
from tui.app_views import ViewKeys
from tui.modals import ChoiceScreen, PromptScreen
from tui.words import injected


class InjectKeys(ViewKeys):
    """The keys that change the simulation (each one an action of simulator/actions.py)."""

    if TYPE_CHECKING:

        def changed(self) -> None:
            """Redraw now (defined by the app)."""

    def inject(self, action: str, **args: object) -> bool:
        """Apply an action on the live simulation; errors become a notification."""
        try:
            reply = self.session.inject(action, **args)
        except ActionError as error:
            self.notify(str(error), title=f"{action} refused", severity="error")
            self.changed()
            return False
        self.notify(injected(action, args, reply))
        self.changed()
        return True

    def action_crash(self) -> None:
        if self.selected:
            self.inject("kill", node=self.selected)

    def action_pause_node(self) -> None:
        node = self.session.sim.views.node(self.selected)
        if node is not None:
            self.inject("resume" if node.status == "paused" else "pause", node=node.name)

    def action_restart(self) -> None:
        if self.selected:
            self.inject("restart", node=self.selected)

    def action_heal(self) -> None:
        self.inject("heal", groups=None)

    def action_partition(self) -> None:
        known = dialogs.endpoints(self.session.sim.views)

        def done(value: str | None) -> None:
            if value:
                self.inject("partition", groups=dialogs.parse_groups(value))

        self.push_screen(
            PromptScreen(
                "Partition the network into groups",
                dialogs.partition_default(self.session.sim.views, self.selected),
                "nodes and clients separated by spaces, groups by |",
                lambda value: dialogs.check_groups(value, known),
            ),
            done,
        )

    def action_cut(self) -> None:
        known = dialogs.endpoints(self.session.sim.views)
        others = [n for n in self.session.sim.views.names() if n != self.selected]

        def done(value: str | None) -> None:
            parsed = dialogs.parse_cut(value or "")
            if parsed is not None:
                self.inject("cut", **{"from": parsed[0], "to": parsed[1]})

        self.push_screen(
            PromptScreen(
                "One-way cut: messages from the left can no longer reach the right",
                f"{self.selected} -> {' '.join(others)}",
                "sources -> targets, nodes or clients (e heals every link)",
                lambda value: dialogs.check_cut(value, known),
            ),
            done,
        )

    def action_failover(self) -> None:
        def done(mode: str | None) -> None:
            if mode and self.selected:
                self.inject("failover", node=self.selected, mode=mode)

        self.push_screen(
            ChoiceScreen(
                f"CLUSTER FAILOVER on {self.selected} (must be a replica)",
                [
                    ("default", "default: wait for the master to catch up, then elect"),
                    ("force", "force: don't wait for the master, still elect"),
                    ("takeover", "takeover: no election, bump the epoch"),
                ],
            ),
            done,
        )

    def action_reshard(self) -> None:
        views = self.session.sim.views
        source = self.selected or ""

        def done(value: str | None) -> None:
            choice = dialogs.parse_reshard(value or "")
            if not isinstance(choice, str):
                self.inject("reshard", **choice.args(source))

        self.push_screen(
            PromptScreen(
                f"Reshard slots from {source}",
                dialogs.reshard_default(views, source),
                "<count> <target> (redis-cli picks the slots) or <slots> <target>, "
                "e.g. 0-99,500 n2",
                lambda value: dialogs.check_reshard(value, source, views),
            ),
            done,
        )

    def action_add_node(self) -> None:
        self.inject("add-node", name=None, replica_of=None)

    def action_fix(self) -> None:
        self.choose(
            "redis-cli --cluster fix",
            [
                ("fix", "fix: refuses while a master cannot be reached (the default)"),
                ("unreachable", "unreachable masters too: --cluster-fix-with-unreachable-masters"),
            ],
            lambda choice: self.inject("fix", with_unreachable_masters=choice == "unreachable"),
        )

    def action_rebalance(self) -> None:
        self.choose(
            "redis-cli --cluster rebalance",
            [
                ("empty", "empty masters too: give the new (added) masters slots"),
                ("serving", "serving masters only: even out the slots they hold"),
            ],
            lambda choice: self.inject("rebalance", use_empty_masters=choice == "empty"),
        )

    def choose(
        self, title: str, options: list[tuple[str, str]], apply: Callable[[str], object]
    ) -> None:
        """Ask which option (value, label); ``apply`` gets the value, escape does nothing."""

        def done(choice: str | None) -> None:
            if choice:
                apply(choice)

        self.push_screen(ChoiceScreen(title, options), done)

    def action_del_node(self) -> None:
        if self.selected:
            self.inject("del-node", node=self.selected)

    def action_set_config(self) -> None:
        views = self.session.sim.views

        def done(value: str | None) -> None:
            parsed = dialogs.parse_set_config(value or "")
            if not isinstance(parsed, str):
                node, directive, setting = parsed
                self.inject("set-config", node=node, settings={directive: setting})

        self.push_screen(
            PromptScreen(
                'CONFIG SET (go back with g first to ask "what if?" in a fork)',
                dialogs.set_config_default(views),
                "<directive> <value> [<node>|all]; i lists the settings",
                lambda value: dialogs.check_set_config(value, views),
            ),
            done,
        )

    def action_forget(self) -> None:
        """``X``: ``CLUSTER FORGET`` the selected node, on the nodes the learner lists
        (every other node by default: how a dead node leaves; one node alone re-learns it
        from gossip once its 60 s blacklist expires, §16.6)."""
        views = self.session.sim.views
        node = self.selected
        if not node:
            return
        default = dialogs.forget_default(views, node)

        def done(value: str | None) -> None:
            if value is None or not value.split():
                return
            named = value.split()
            on_nodes = None if named == default.split() else named
            self.inject("forget", node=node, on_nodes=on_nodes)

        self.push_screen(
            PromptScreen(
                f"CLUSTER FORGET {node}: on which nodes",
                default,
                "node names separated by spaces (every other node: it leaves the cluster)",
                lambda value: dialogs.check_forget(value, views.names()),
            ),
            done,
        )
