// A second, independent EZSP host for the emulated NCP: zigbee-herdsman's `ember` adapter (the stack under
// Zigbee2MQTT), driven directly, without its Controller (no database, no interview), so that each step below
// is one adapter call. Prints one JSON object per line on stdout; the Python test asserts on them.
//
//   node herdsman_host.js <herdsman dir> <serial path or tcp://host:port> <work dir> <ESME EUI-64 0x...>
//        <install code hex (with CRC)> <expect: join | nojoin | resume> [seconds to wait for the join]
// `resume` only starts (on a network the NCP already has in NV) and stops.
"use strict";

const path = require("node:path");

const [herdsmanDir, serialPath, workDir, esmeEui64, installCodeHex, expect, waitArg] = process.argv.slice(2);
const herdsman = path.join(herdsmanDir, "node_modules", "zigbee-herdsman", "dist");
const { EmberAdapter } = require(path.join(herdsman, "adapter", "ember", "adapter", "emberAdapter.js"));
const Zdo = require(path.join(herdsman, "zspec", "zdo"));
const { setLogger } = require(path.join(herdsman, "utils", "logger.js"));

const say = (event, fields = {}) => process.stdout.write(`${JSON.stringify({ event, ...fields })}\n`);
const log = (level) => (msg, ns) => process.stderr.write(`${level} ${ns}: ${typeof msg === "function" ? msg() : msg}\n`);
setLogger({ debug: log("debug"), info: log("info"), warning: log("warning"), error: log("error") });

const JOIN_WAIT_S = Number(waitArg || 30);
const NETWORK_KEY = [1, 3, 5, 7, 9, 11, 13, 15, 0, 2, 4, 6, 8, 10, 12, 13];

async function main() {
    const adapter = new EmberAdapter(
        {
            panID: 0x1a62,
            extendedPanID: [0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd],
            channelList: [15],
            networkKey: NETWORK_KEY,
            networkKeyDistribute: false,
        },
        { path: serialPath, baudRate: 115200, rtscts: false, adapter: "ember" },
        path.join(workDir, "coordinator_backup.json"),
        { concurrent: 16, disableLED: true },
    );
    const joined = new Promise((resolve) => adapter.on("deviceJoined", resolve));
    // Device_annce is broadcast once the device holds the network key (Zigbee2MQTT interviews only after it).
    const announced = new Promise((resolve) =>
        adapter.on("zdoResponse", (clusterId, result) => {
            if (clusterId === Zdo.ClusterId.END_DEVICE_ANNOUNCE) resolve(result);
        }),
    );
    const startResult = await adapter.start();
    say("started", { result: startResult, version: adapter.version });
    say("coordinator", { ieee: await adapter.getCoordinatorIEEE(), network: await adapter.getNetworkParameters() });
    if (expect === "resume") {
        // What Zigbee2MQTT does on every start: an open-coordinator backup (network key info, TC link key via
        // exportKey, the key table via exportLinkKeyByIndex).
        const backup = await adapter.backup([]);
        say("backup", {
            pan_id: backup.networkOptions.panId,
            channel: backup.logicalChannel,
            network_key_sequence: backup.networkKeyInfo.sequenceNumber,
            network_key_is_ours: Buffer.from(NETWORK_KEY).equals(Buffer.from(backup.networkOptions.networkKey)),
            devices: backup.devices.length,
        });
        await adapter.stop();
        say("stopped", { expect });
        return;
    }

    await adapter.addInstallCode(esmeEui64, Buffer.from(installCodeHex, "hex"), false);
    say("install_code_added", { ieee: esmeEui64 });
    await adapter.permitJoin(254);
    say("permit_joining", { seconds: 254 });

    const timeout = new Promise((resolve) => setTimeout(() => resolve(null), JOIN_WAIT_S * 1000));
    const join = await Promise.race([joined, timeout]);
    const announce = join === null ? null : await Promise.race([announced, timeout]);
    if (join !== null) say("device_joined", { ieee: join.ieeeAddr, nwk: join.networkAddress });
    if (announce === null) {
        say("no_join", { waited_s: JOIN_WAIT_S });
    } else {
        const [, annce] = announce;
        say("device_announced", { ieee: annce?.eui64, nwk: annce?.nwkAddress });
        // A trustCenterJoinHandler (deviceJoined) arrives before the device has the network key: only an answer
        // over the encrypted network proves the join.
        const clusterId = Zdo.ClusterId.NODE_DESCRIPTOR_REQUEST;
        const payload = Zdo.Buffalo.buildRequest(true, clusterId, join.networkAddress);
        try {
            const rsp = await adapter.sendZdo(join.ieeeAddr, join.networkAddress, clusterId, payload, false);
            const [status, desc] = rsp;
            say("zdo_response", {
                cluster: "NODE_DESCRIPTOR_RESPONSE",
                status,
                nwk: desc?.nwkAddress,
                manufacturer_code: desc?.manufacturerCode,
                logical_type: desc?.logicalType,
            });
            const epCluster = Zdo.ClusterId.ACTIVE_ENDPOINTS_REQUEST;
            const epPayload = Zdo.Buffalo.buildRequest(true, epCluster, join.networkAddress);
            const [epStatus, eps] = await adapter.sendZdo(join.ieeeAddr, join.networkAddress, epCluster, epPayload, false);
            say("zdo_response", { cluster: "ACTIVE_ENDPOINTS_RESPONSE", status: epStatus, endpoints: eps?.endpointList });
        } catch (err) {
            say("zdo_failed", { error: String(err && err.message ? err.message : err) });
        }
    }
    await adapter.permitJoin(0);
    await adapter.stop();
    say("stopped", { expect });
}

main().then(
    () => process.exit(0),
    (err) => {
        say("error", { error: String(err && err.stack ? err.stack : err) });
        process.exit(1);
    },
);
