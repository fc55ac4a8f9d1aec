"""``mypyc_attr`` for the modules ``make fast`` compiles with mypyc (simulator/compiled.py).

mypyc reads the decorator at compile time (by its name, ``mypy_extensions.mypyc_attr``);
in the pure-Python tree it does nothing. Two uses:

* ``allow_interpreted_subclasses=True`` on every compiled class that is built with
  arguments or subclassed: a compiled class's ``cls.__new__(cls)`` then leaves
  ``__init__`` alone, as Python's does, so ``copy``, ``pickle`` (checkpoints) and
  ``Link.__deepcopy__`` work, and a pure subclass (``StandaloneNode``) is allowed.
  (``serializable=True`` would be the documented switch, but with mypy 2.4.1's mypyc a class
  so marked, called from pure Python, never runs its ``__init__``.)
* ``native_class=False`` on frozen dataclasses: a compiled one's ``__setstate__`` sets
  attributes one by one, which a frozen dataclass refuses.

mypy_extensions comes with mypy (the dev extra); without it the decorator is this
module's no-op, and nothing can be compiled anyway.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_extensions import mypyc_attr
else:
    try:
        from mypy_extensions import mypyc_attr
    except ImportError:

        def mypyc_attr(*_args: object, **_kwargs: object) -> object:
            return lambda cls: cls


__all__ = ["mypyc_attr"]
