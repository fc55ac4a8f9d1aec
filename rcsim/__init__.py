"""The ``rcsim`` command line; the model lives in :mod:`simulator`, the UI in :mod:`tui`."""

from simulator import __version__

__all__ = ["__version__"]
