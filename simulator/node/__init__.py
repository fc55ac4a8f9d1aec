"""One Redis Cluster node: its own view of the cluster and the bus logic of src/cluster.c.

Each method that models a Redis function names it in its docstring so a reader who
knows cluster.c can cross-check; section numbers (§) refer to the behaviour
reference, docs/redis-cluster-behaviour.md in the project's shared docs.

The node never touches another node's state: everything it learns arrives in a
:class:`~simulator.messages.Message` through its :class:`~simulator.node.host.NodeHost`.

:class:`Node` is built in layers, one module per section of cluster.c, each layer
subclassing the one below (so a layer calls only what is beneath it):

============================  ==============================================================
module                        cluster.c section
============================  ==============================================================
``base``                      ``myself``, the node table, roles, ``clusterUpdateState``
``slot_table``                ``clusterAddSlot``/``clusterDelSlot``, ``clusterDelNode``
``manual_failover``           ``mf_*`` state, ``clusterHandleManualFailover``
``bus``                       ``clusterBuildMessageHdr``, ``clusterSendPing``, broadcasts
``failure``                   failure reports, ``markNodeAsFailingIfNeeded``, ``clearNodeFailureIfNeeded``
``slot_config``               ``clusterUpdateSlotsConfigWith``, UPDATE, configEpoch rules
``election``                  ``failover_auth_*`` state, ``clusterHandleSlaveFailover``, votes
``migration``                 ``clusterHandleSlaveMigration``
``cron``                      ``clusterCron``, ``clusterBeforeSleep``
``gossip``                    ``clusterProcessPacket``, ``clusterProcessGossipSection``
``commands``                  ``CLUSTER MEET|FORGET|REPLICATE|FAILOVER|SETSLOT|ADDSLOTS|...``
``nodes_conf``                ``clusterSaveConfig`` / ``clusterLoadConfig``
``links``                     ``clusterLinkConnectHandler``, ``clusterAcceptHandler``, ``clusterReadHandler``
``node``                      the process: faults, converged start, the replication link
============================  ==============================================================
"""

from __future__ import annotations

from simulator.node.constants import (
    CRASHED,
    CRON_PERIOD_MS,
    FAIL_REPORT_VALIDITY_MULT,
    FAIL_UNDO_TIME_MULT,
    GETACK_BYTES,
    MAX_REJOIN_DELAY_MS,
    MF_PAUSE_MULT,
    MF_TIMEOUT_MS,
    MIN_REJOIN_DELAY_MS,
    PAUSED,
    REPL_PING_BYTES,
    RUNNING,
    SLAVE_MIGRATION_DELAY_MS,
    STOPPED,
    WRITABLE_DELAY_MS,
)
from simulator.node.host import Clock, NodeHost, TraceSink
from simulator.node.node import Node, SeedPeer
from simulator.node.nodes_conf import NodesConf
from simulator.node.peer import PeerView
from simulator.node.slotmap import bits_to_slots, bytes_to_slots, table_bits

__all__ = [
    "CRASHED",
    "CRON_PERIOD_MS",
    "FAIL_REPORT_VALIDITY_MULT",
    "FAIL_UNDO_TIME_MULT",
    "GETACK_BYTES",
    "MAX_REJOIN_DELAY_MS",
    "MF_PAUSE_MULT",
    "MF_TIMEOUT_MS",
    "MIN_REJOIN_DELAY_MS",
    "PAUSED",
    "REPL_PING_BYTES",
    "RUNNING",
    "SLAVE_MIGRATION_DELAY_MS",
    "STOPPED",
    "WRITABLE_DELAY_MS",
    "Clock",
    "Node",
    "NodeHost",
    "NodesConf",
    "PeerView",
    "SeedPeer",
    "TraceSink",
    "bits_to_slots",
    "bytes_to_slots",
    "table_bits",
]
