"""A client's ``local_cache``: client-side caching with ``CLIENT TRACKING`` (redis-rules §27).

```yaml
clients:
  - name: app
    rate: 200/s
    writes: 0
    local_cache: {mode: default, flush_on: [disconnect, moved]}
  - name: feed
    rate: 100/s
    local_cache: {mode: bcast, prefixes: ["user:"], flush_on: []}
```

``mode``: ``default`` (the node remembers the keys the client read) or ``bcast`` (the
node sends every change under the prefixes); ``prefixes``: BCAST only, must not overlap
(``checkPrefixCollisionsOrReply``), none = every key; ``flush_on``: what makes the client
drop cached entries besides invalidations: ``disconnect`` (a tracking connection was
lost), ``moved`` (a slot moved). Default ``[disconnect]``.
"""

from __future__ import annotations

from typing import Any

import yaml

from simulator.scenario.model import LocalCacheSpec
from simulator.scenario.records import Field, ListOf, Record
from simulator.scenario.specs import INVALID, Ctx, Enum, Spec, Str

MODES = ("default", "bcast")
FLUSH_ON = ("disconnect", "moved")


_RECORD = Record(
    "local_cache",
    [
        Field(
            "mode",
            Enum(*MODES, what="tracking mode"),
            "default: the node remembers the keys the client read; bcast: it sends every "
            "change under the prefixes",
            default="default",
        ),
        Field(
            "prefixes",
            ListOf(Str(max_len=200, allow_numbers=True), max_items=100, what="a list of prefixes"),
            "BCAST only: key prefixes to hear about (none: every key); they must not overlap",
            default=(),
        ),
        Field(
            "flush_on",
            ListOf(Enum(*FLUSH_ON, what="flush reason"), max_items=2, what="a list of reasons"),
            "drop cached entries when a tracking connection is lost (disconnect) and/or "
            "when a slot moves (moved); [] never",
            default=("disconnect",),
        ),
    ],
)


class LocalCacheParser(Spec):
    accepts: tuple[type, ...] = (yaml.MappingNode,)
    expected = "a mapping (local_cache)"

    def parse(self, node: yaml.Node, ctx: Ctx) -> Any:
        parsed = _RECORD.parse(node, ctx)
        if parsed is INVALID or any(v is INVALID for v in parsed.values.values()):
            return INVALID
        values = parsed.values
        prefixes = tuple(values["prefixes"])
        if prefixes and values["mode"] != "bcast":
            return ctx.error(parsed.locs["prefixes"], "prefixes need mode: bcast")
        for i, first in enumerate(prefixes):
            for second in prefixes[i + 1 :]:
                if first.startswith(second) or second.startswith(first):
                    return ctx.error(
                        parsed.locs["prefixes"],
                        f"prefix '{first}' overlaps with '{second}': prefixes for a single "
                        "client must not overlap",
                    )
        return LocalCacheSpec(
            loc=parsed.loc,
            locs=parsed.locs,
            mode=values["mode"],
            prefixes=prefixes,
            flush_on=tuple(dict.fromkeys(values["flush_on"])),
        )

    def schema(self) -> dict[str, Any]:
        return _RECORD.schema()
