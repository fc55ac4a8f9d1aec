"""What the test files share, defined once.

``CRASH_CLUSTER`` is the small cluster most runner and CLI tests start from (3 masters,
1 replica each, NT 1 s, so a failover takes ~2 s of simulated time), and
``KILL_N1_AND_WAIT`` the two steps that crash n1 and wait for n4's promotion.
``write_scenario`` writes a scenario text to a temporary file, as a user would.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

CRASH_CLUSTER = """\
cluster:
  masters: 3
  replicas: 1
  config: {cluster-node-timeout: 1000}
"""

KILL_N1_AND_WAIT = """\
  - at: 1s
    kill: n1
  - wait_for: {promoted: n4}
    timeout: 20s
"""


@pytest.fixture()
def write_scenario(tmp_path: Path) -> Callable[[str, str], Path]:
    """``write_scenario(text, name)``: the text saved as ``tmp_path/name``."""

    def write(text: str, name: str = "scenario.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write
