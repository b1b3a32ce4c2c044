/**
 * The contract (design.md §1): the same token cases through every front door
 * give the same decision as the core. Each door is driven as its real caller
 * drives it (HTTP for the gateway, forward-auth and middleware; API Gateway's
 * event shapes for Lambda) against one JWKS server on 127.0.0.1.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startBackendServer, type BackendServer } from '../support/backend-server.js';
import { startJwksServer, type JwksServer } from '../support/jwks-server.js';
import { buildCases, contractValidator, createContractKeys, type ContractCase } from './cases.js';
import { coreDoor, DOORS, type Outcome } from './doors.js';

const keys = await createContractKeys();
const cases = await buildCases(keys);
let jwks: JwksServer;
let backend: BackendServer;
const reference = new Map<ContractCase, Outcome>();

before(async () => {
  jwks = await startJwksServer();
  jwks.setKeys(keys.jwks);
  backend = await startBackendServer();
  const core = await coreDoor.start(contractValidator(jwks.url()), backend);
  for (const testCase of cases) reference.set(testCase, await core.decide(testCase));
  await core.close();
});

after(async () => {
  await backend.close();
  await jwks.close();
});

test('the core itself decides every case as the table says', () => {
  for (const testCase of cases) {
    const outcome = reference.get(testCase)!;
    assert.equal(outcome.status, testCase.expect.status, testCase.name);
    assert.equal(outcome.code, testCase.expect.code, testCase.name);
    if (testCase.expect.sub !== undefined) assert.equal(outcome.sub, testCase.expect.sub, testCase.name);
  }
});

for (const door of DOORS) {
  describe(`contract: ${door.name}`, () => {
    let running: Awaited<ReturnType<typeof door.start>>;
    before(async () => {
      running = await door.start(contractValidator(jwks.url()), backend);
    });
    after(async () => {
      await running.close();
    });

    for (const testCase of cases) {
      const skip = door.skips?.(testCase) ? 'this transport cannot carry the credential this way' : false;
      test(testCase.name, { skip }, async () => {
        const outcome = await running.decide(testCase);
        const expected = reference.get(testCase)!;
        assert.equal(outcome.status, expected.status, 'status');
        if (expected.status === 200) {
          assert.equal(outcome.sub, testCase.expect.sub, 'the user the upstream sees');
          return;
        }
        if (door.reportsCode) {
          assert.equal(outcome.code, expected.code, 'failure code');
          assert.equal(outcome.wwwAuthenticate, expected.wwwAuthenticate, 'WWW-Authenticate');
        }
      });
    }
  });
}
