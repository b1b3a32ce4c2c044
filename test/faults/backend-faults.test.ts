/**
 * A broken backend and a rude client, end to end through the gateway: the
 * backend down, slow, or resetting before or in the middle of its body; a
 * client that leaves mid-request or mid-upload. `no-op` endpoints answer
 * 502/504, merging endpoints answer as KrakenD does (500,
 * `X-KrakenD-Completed: false`); the slow backend holds its answer far past
 * the endpoint timeout, so each answer shows the timeout worked. That no socket
 * or heap grows with many failures is checked in the soak tier
 * (scripts/soak-backend-faults.ts).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { startBackendFaultRig, type BackendFaultRig } from './backend-rig.js';

let rig: BackendFaultRig;

before(async () => {
  rig = await startBackendFaultRig();
});

after(async () => {
  await rig?.close();
});

describe('backend faults through the gateway', () => {
  it('down, slow, or reset before or mid-body: 502/504 (no-op) or 500 (merging), at the endpoint timeout', async () => {
    assert.equal((await rig.hit('/no-op/ok')).status, 200);
    assert.equal((await rig.hit('/json/ok')).status, 200);
    await rig.checkAll();
  });

  it('a client that leaves mid-request cancels the backend call', async () => {
    for (const path of ['/no-op/slow', '/json/slow']) {
      // Slow calls cut by earlier tests may still be landing; start from none open so only ours is counted.
      await rig.slow.untilNoneOpen();
      const before = rig.slow.aborted;
      const arrived = rig.backend.nextArrival('/slow');
      const req = httpRequest(`${rig.gateway.url}${path}`, { headers: { authorization: `Bearer ${rig.token}` }, agent: false });
      req.on('error', () => undefined);
      req.end();
      // Leave once the backend has the request.
      await arrived;
      req.destroy();
      await rig.slow.untilNoneOpen();
      assert.equal(rig.slow.aborted, before + 1, `${path}: the backend call outlived the client`);
    }
  });

  it('a client that leaves mid-upload: the backend upload is cut, and the gateway keeps serving', async () => {
    rig.backend.on('/upload', () => undefined);
    const arrived = rig.backend.nextArrival('/upload');
    const req = httpRequest(`${rig.gateway.url}/upload`, {
      method: 'POST',
      headers: { authorization: `Bearer ${rig.token}`, 'transfer-encoding': 'chunked', 'content-type': 'application/octet-stream' },
      agent: false,
    });
    req.on('error', () => undefined);
    req.write(Buffer.alloc(64 * 1024, 1));
    const upload = await arrived;
    req.destroy();
    // The gateway must cut the backend's half of the upload too ('close', not events.once: the cut also emits 'error').
    if (!upload.destroyed) await new Promise((resolve) => upload.once('close', resolve));
    // The echo backend records a request only once its body ended: a cut upload must never look complete.
    assert.equal(rig.backend.received('/upload').length, 0, 'the backend received a complete body from an abandoned upload');
    assert.equal((await rig.hit('/no-op/ok')).status, 200);
  });
});
