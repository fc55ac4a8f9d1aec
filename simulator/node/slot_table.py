"""My slot table: which master owns each slot in my view (``clusterAddSlot``/``clusterDelSlot``).

Kept with per-owner counts, bitsets and Zobrist fingerprints so that comparing a
heartbeat's claimed slots with my table costs O(1) (§10.1 step 7).
"""

from __future__ import annotations

from simulator.messages import MASTER, MIGRATE_TO, SLAVE
from simulator.native import mypyc_attr
from simulator.node.base import NodeBase
from simulator.node.slotmap import bits_to_slots, table_bits
from simulator.slots import NO_OWNER, SlotTable


@mypyc_attr(allow_interpreted_subclasses=True)
class SlotBindings(NodeBase):
    """The slot→owner table of my view, and ``clusterDelNode`` (which unbinds a node's slots)."""

    def remove_peer(self, name: str) -> None:
        """``clusterDelNode``: forget a node, its slots, the migrating/importing entries
        that name it and its failure reports; ``freeClusterNode`` unlinks its replicas
        (their ``slaveof`` becomes NULL) and removes it from its master's replicas."""
        peer = self.peers.pop(name)
        self._peer_list.remove(peer)
        self._by_index[peer.index] = None
        link = self.links.pop(name, None)  # freeClusterNode frees its link
        if link is not None:
            link.close("node_removed")
        for slot in self.slots.slots_of(peer.index):
            self._set_slot(slot, NO_OWNER)
        for table in (self.migrating, self.importing):
            for slot in [s for s, other in table.items() if other == name]:
                del table[slot]
        for other in self._peer_list:
            other.fail_reports.pop(name, None)
            if name in other.replicas:
                other.replicas = tuple(r for r in other.replicas if r != name)
            if other.master == name and other is not self.me:
                other.master = None

    def _set_slot(self, slot: int, owner: int) -> None:
        """``clusterDelSlot`` + ``clusterAddSlot`` on my table, keeping counts."""
        previous = self.slots[slot]
        if previous == owner:
            return
        key = self.host.zobrist[slot]
        versions = self._owner_version
        prints = self._fingerprint
        bits = self._owner_bits
        mask = 1 << slot
        if previous != NO_OWNER:
            self.slot_counts[previous] -= 1
            versions[previous] = versions.get(previous, 0) + 1
            prints[previous] = prints.get(previous, 0) ^ key
            bits[previous] = bits.get(previous, 0) ^ mask
        if owner != NO_OWNER:
            count = self.slot_counts[owner] = self.slot_counts.get(owner, 0) + 1
            if count == 1:
                self._first_slot(owner)
            versions[owner] = versions.get(owner, 0) + 1
            prints[owner] = prints.get(owner, 0) ^ key
            bits[owner] = bits.get(owner, 0) ^ mask
        self.slots[slot] = owner
        if previous == self.index or owner == self.index:
            self.host.on_slot_owner_changed(self, slot, previous, owner)
        elif (
            previous != NO_OWNER
            and self.me.master is not None
            and self.host.index.get(self.me.master) == previous
        ):
            # My master's shard lost the slot: its shard channels go too (§19).
            self.host.on_slot_owner_changed(self, slot, previous, owner)

    def _first_slot(self, owner: int) -> None:
        """``clusterNodeSetSlotBit``: a master that gets its first slot becomes a
        replica-migration target (MIGRATE_TO) if any master has replicas right now."""
        peer = self.peers.get(self.host.names[owner])
        if peer is not None and any(p.flags & MASTER and p.replicas for p in self._peer_list):
            peer.flags |= MIGRATE_TO

    def load_slot_table(self, table: SlotTable) -> None:
        """Replace my whole slot table (nodes.conf load), rebuilding counts and fingerprints."""
        self.slots = table.copy()
        key = table.raw().tobytes()
        derived = self.host.slot_index_cache.get(key)
        if derived is None:
            counts: dict[int, int] = {}
            prints: dict[int, int] = {}
            zobrist = self.host.zobrist
            for slot, owner in enumerate(table.raw()):
                if owner != NO_OWNER:
                    counts[owner] = counts.get(owner, 0) + 1
                    prints[owner] = prints.get(owner, 0) ^ zobrist[slot]
            owner_bits = {owner: table_bits(table, owner) for owner in counts}
            derived = (counts, prints, owner_bits)
            cache = self.host.slot_index_cache  # the host keeps one entry: the last table
            cache.clear()
            cache[key] = derived
        self.slot_counts = dict(derived[0])
        self._fingerprint = dict(derived[1])
        self._owner_bits = dict(derived[2])
        for owner in self.slot_counts:
            self._owner_version[owner] = self._owner_version.get(owner, 0) + 1

    def assign_slots(self, slots: list[int], owner_name: str) -> None:
        index = self.host.index[owner_name]
        for slot in slots:
            self._set_slot(slot, index)
            self.owner_not_claiming[slot] = 0

    def slot_bits(self, owner_index: int) -> int:
        """The slots bound to ``owner_index`` in my table, as a bitset (bit s = slot s)."""
        return self._owner_bits.get(owner_index, 0)

    def _claim_diff(self, owner_index: int, claimed: int) -> list[int]:
        """Slots where ``claimed`` and my table's binding to ``owner_index`` disagree."""
        return bits_to_slots(claimed ^ self._owner_bits.get(owner_index, 0))

    def claim_fingerprint(self) -> int:
        """The Zobrist fingerprint of what my headers claim (see :meth:`claimed_bits`)."""
        if self.me.flags & SLAVE and self.me.master in self.peers:
            return self._fingerprint.get(self.peers[self.me.master].index, 0)
        return self._fingerprint.get(self.index, 0)

    def claimed_bits(self) -> int:
        """What my headers claim: my slots, or my master's if I am a replica (§4.2)."""
        if self.me.flags & SLAVE and self.me.master in self.peers:
            return self.slot_bits(self.peers[self.me.master].index)
        return self.slot_bits(self.index)

    def is_slot_unclaimed(self, slot: int) -> bool:
        """``isSlotUnclaimed``: bound, but the owner's heartbeats stopped claiming it."""
        return bool(self.owner_not_claiming[slot])
