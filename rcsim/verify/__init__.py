"""``rcsim verify``: the same scenario on a real local cluster and on rcsim, side by side.

One module per job: :mod:`.cleanup` (every process and rule undone, also on Ctrl-C),
:mod:`.firewall` (iptables partitions), :mod:`.resp` (a tiny RESP2 client),
:mod:`.clusterview` (CLUSTER NODES / INFO parsing), :mod:`.server` (one redis-server
process), :mod:`.realcluster` (the cluster, built as ``redis-cli --cluster create``
does), :mod:`.poller` (20 ms pollers), :mod:`.observe` (conditions and milestones on
what the pollers saw), :mod:`.playable` (which steps can be played for real),
:mod:`.player` (the step player), :mod:`.simside` (the rcsim runs) and
:mod:`.compare` (the table). Scenario imports live in :mod:`.scenario_api` only.
"""
