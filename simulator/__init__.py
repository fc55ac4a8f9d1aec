"""rcsim's engine and model: a discrete-event simulation of a Redis 7.0 cluster.

Nothing in this package imports the UI; the TUI and the CLI drive it through
:mod:`simulator.simulation`.
"""

__version__ = "0.1.0"

# RCSIM_COMPILED=1: the modules `make fast` compiled, if built from these sources (simulator/compiled.py).
from simulator.compiled import install_if_asked

install_if_asked()
