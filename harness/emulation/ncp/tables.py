"""Table handlers of the emulated NCP: children, address table, multicast table, extended timeouts, node lookups."""

from __future__ import annotations

import bellows.types as t
import zigpy.types as zt

from harness.emulation.ncp.nvstate import ChildEntry, NvState
from harness.emulation.ncp.ram import NcpRam

OK = t.sl_Status.OK
NULL_NODE_ID = 0xFFFF


class TableHandlers:
    """Mixin of EmulatedNcp."""

    version: int
    nv: NvState
    _ram: NcpRam
    _joined_nodes: dict[zt.EUI64, int]

    eui64: zt.EUI64  # provided by EmulatedNcp

    def cmd_getParentChildParameters(self, p: dict) -> dict:
        # UG100 (EZSP 0x0029): the number of children, and the parent of an end device. A coordinator has no
        # parent: EmberZNet leaves the parent EUI-64 zero and the node ID the null node ID.
        return {"childCount": len(self.nv.children), "parentEui64": zt.EUI64(bytes(8)),
                "parentNodeId": NULL_NODE_ID}

    def cmd_getChildData(self, p: dict) -> dict:
        index = int(p["index"])
        if index >= len(self.nv.children):
            return {"status": t.sl_Status.NOT_JOINED}
        child = self.nv.children[index]
        eui64, node_type = zt.EUI64.convert(child.eui64), t.EmberNodeType(child.node_type)
        if self.version >= 10:
            data = t.EmberChildDataV10(eui64=eui64, type=node_type, id=child.nwk, phy=0, power=0, timeout=0,
                                       timeout_remaining=0)  # fmt: skip
        else:
            data = t.EmberChildDataV7(eui64=eui64, type=node_type, id=child.nwk, phy=0, power=0, timeout=0)
        if self.version < 7:
            return {"status": OK, "childId": child.nwk, "childEui64": eui64, "childType": node_type}
        return {"status": OK, "childData": data, "child_data": data}

    def cmd_setChildData(self, p: dict) -> dict:
        data = p["child_data"] if "child_data" in p else p["childData"]
        index = int(p["index"])
        if index >= self._ram.config_value(t.EzspConfigId.CONFIG_MAX_END_DEVICE_CHILDREN):
            return {"status": t.sl_Status.INVALID_INDEX}
        entry = ChildEntry(str(zt.EUI64(data.eui64)), int(data.id), int(data.type))
        children = self.nv.children
        if index < len(children):
            children[index] = entry
        else:
            children.append(entry)
        return {"status": OK}

    def cmd_getExtendedTimeout(self, p: dict) -> dict:
        extended = self._ram.extended_timeouts.get(zt.EUI64(p["remoteEui64"]), False)
        if self._v14:
            return {"status": OK if extended else t.sl_Status.FAIL}
        return {"extendedTimeout": extended}

    def cmd_setExtendedTimeout(self, p: dict) -> dict:
        # EmberZNet keeps the flag in the address table: a full table refuses a new node with TABLE_FULL (bounded memory, too).
        eui64 = zt.EUI64(p["remoteEui64"])
        timeouts = self._ram.extended_timeouts
        if eui64 not in timeouts and len(timeouts) >= self._ram.config_value(t.EzspConfigId.CONFIG_ADDRESS_TABLE_SIZE):
            return {"status": t.sl_Status.FULL}
        timeouts[eui64] = bool(p["extendedTimeout"])
        return {"status": OK}

    def _known_nodes(self) -> dict[zt.EUI64, int]:
        nodes = {zt.EUI64.convert(c.eui64): c.nwk for c in self.nv.children}
        nodes.update({eui: nwk for eui, nwk in self._ram.address_table.values()})
        nodes.update(self._joined_nodes)
        nodes[self.eui64] = self.nv.node_id
        return nodes

    def _remember_node(self, eui64: zt.EUI64, nwk: int) -> None:
        self._joined_nodes[zt.EUI64(eui64)] = nwk

    def cmd_lookupNodeIdByEui64(self, p: dict) -> dict:
        nwk = self._known_nodes().get(zt.EUI64(p["eui64"]))
        if nwk is None:
            return {"status": t.sl_Status.NOT_FOUND, "nodeId": NULL_NODE_ID}
        return {"status": OK, "nodeId": nwk}

    def cmd_lookupEui64ByNodeId(self, p: dict) -> dict:
        wanted = int(p["nodeId"])
        eui64 = next((e for e, n in self._known_nodes().items() if n == wanted), None)
        if eui64 is None:
            return {"status": t.sl_Status.NOT_FOUND}
        return {"status": OK, "eui64": eui64}

    def cmd_replaceAddressTableEntry(self, p: dict) -> dict:
        index = int(p["addressTableIndex"])
        if index >= self._ram.config_value(t.EzspConfigId.CONFIG_ADDRESS_TABLE_SIZE):
            return {"status": t.sl_Status.INVALID_RANGE}
        old_eui64, old_nwk = self._ram.address_table.get(index, (zt.EUI64([0] * 8), NULL_NODE_ID))
        old_extended = self._ram.extended_timeouts.get(old_eui64, False)
        eui64 = zt.EUI64(p["newEui64"])
        self._ram.address_table[index] = (eui64, int(p["newId"]))
        self._ram.extended_timeouts[eui64] = bool(p["newExtendedTimeout"])
        return {"status": OK, "oldEui64": old_eui64, "oldId": old_nwk, "oldExtendedTimeout": old_extended}

    def cmd_getAddressTableRemoteNodeId(self, p: dict) -> dict:
        entry = self._ram.address_table.get(int(p["addressTableIndex"]))
        return {"nodeId": entry[1] if entry else NULL_NODE_ID}

    def cmd_getAddressTableRemoteEui64(self, p: dict) -> dict:
        entry = self._ram.address_table.get(int(p["addressTableIndex"]))
        return {"eui64": entry[0] if entry else zt.EUI64([0] * 8)}

    def cmd_getAddressTableInfo(self, p: dict) -> dict:
        index = int(p["index"])
        if index >= self._ram.config_value(t.EzspConfigId.CONFIG_ADDRESS_TABLE_SIZE):
            return {"status": t.sl_Status.INVALID_INDEX, "nwk": NULL_NODE_ID}
        entry = self._ram.address_table.get(index)
        if entry is None:
            return {"status": OK, "nwk": NULL_NODE_ID, "eui64": zt.EUI64([0] * 8)}
        return {"status": OK, "nwk": entry[1], "eui64": entry[0]}

    def cmd_getMulticastTableEntry(self, p: dict) -> dict:
        index = int(p["index"])
        if index >= self._ram.config_value(t.EzspConfigId.CONFIG_MULTICAST_TABLE_SIZE):
            return {"status": t.sl_Status.INVALID_INDEX}
        entry = self._ram.multicast_table.get(index)
        if entry is None:
            entry = t.EmberMulticastTableEntry(multicastId=0, endpoint=0, networkIndex=0)
        return {"status": OK, "value": entry}

    def cmd_setMulticastTableEntry(self, p: dict) -> dict:
        index = int(p["index"])
        if index >= self._ram.config_value(t.EzspConfigId.CONFIG_MULTICAST_TABLE_SIZE):
            return {"status": t.sl_Status.INVALID_INDEX}
        self._ram.multicast_table[index] = p["value"]
        return {"status": OK}

    def cmd_removeDevice(self, p: dict) -> dict:
        if self.stack is not None:
            self.stack.remove_device(zt.EUI64(p["targetLong"]))
        # The parent forgets the child: off the child table, as emberRemoveDevice does on a stick.
        target = str(zt.EUI64(p["targetLong"]))
        self.nv.children = [c for c in self.nv.children if c.eui64 != target]
        self._joined_nodes.pop(zt.EUI64(p["targetLong"]), None)
        return {"status": OK}
