"""The key footer, recomposed only when the keys it shows change (issue 12).

Textual's :class:`~textual.widgets.Footer` recomposes itself whenever its screen says
the bindings may have changed: at every focus change (``h``/``l``, a click, the
benchmark's ``focus()`` before each key) and every modal pushed or popped. A recompose
removes its key widgets and mounts new ones, each styled by the stylesheet: at 300
nodes a ``PgDn`` right after the node view took the focus cost 37-111 ms of CPU,
almost all of it the footer's recompose (cProfile, ``benchmarks.bench_tui_big
--paused``'s sequence; the scroll itself is ~5 ms). rcsim's shown keys are the app's
own and do not depend on which pane has the focus, so the footer compares what it would
show with what it shows and recomposes only when they differ.
"""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer

Shown = tuple[tuple[str, str, str, bool, str], ...]


def shown_keys(screen: Screen[object]) -> Shown:
    """What the footer lists for ``screen``: each shown binding's key, description,
    action, whether it is enabled and its tooltip (all that ``Footer.compose`` reads)."""
    return tuple(
        (binding.key, binding.description, binding.action, enabled, tooltip)
        for (_, binding, enabled, tooltip) in screen.active_bindings.values()
        if binding.show
    )


class SteadyFooter(Footer):
    """A :class:`Footer` that skips a recompose that would show the same keys."""

    def __init__(self) -> None:
        super().__init__()
        self._composed: Shown | None = None
        self.recomposes = 0  # asked of Textual (tests/test_tui_redraw_cost.py)

    def bindings_changed(self, screen: Screen[object]) -> None:
        if not (screen.app.app_focus and self.is_attached and screen is self.screen):
            super().bindings_changed(screen)  # marks the bindings ready, nothing else
            return
        keys = shown_keys(screen)
        if keys == self._composed:
            return
        self._composed = keys
        self.recomposes += 1
        super().bindings_changed(screen)
