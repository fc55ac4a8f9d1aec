"""``rcsim verify``: the same scenario on a real local cluster and on rcsim, side by side.

One module per job: :mod:`.cleanup` (every process and rule undone, also on Ctrl-C),
:mod:`.firewall` (iptables partitions), :mod:`.resp` (a tiny RESP2 client),
:mod:`.clusterview` (CLUSTER NODES / INFO parsing), :mod:`.server` (one redis-server
process), :mod:`.realcluster` (the cluster, built as ``redis-cli --cluster create``
does, and its actions), :mod:`.poller` (20 ms pollers), :mod:`.events` (polls as rcsim
trace events), :mod:`.logevents` (election steps from the nodes' logs),
:mod:`.conditions` (scenario conditions on the real cluster), :mod:`.clients` (the
scenario's clients, lost writes), :mod:`.slotmove` (a reshard of named slots),
:mod:`.playable` (what can be played for real, said up front), :mod:`.player` (the step
player), :mod:`.session` (one real run, start to finish), :mod:`.simside` (the rcsim
runs), :mod:`.measure` (the figures of a run) and :mod:`.compare` (the table).
Scenario imports live in :mod:`.scenario_api` only.
"""
