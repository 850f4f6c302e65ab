import { credentials, type Client, type ServiceError, status } from '@grpc/grpc-js';
import { rename } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { csiProto } from '../src/csi-proto.js';
import { type CsiServer, startCsiServer } from '../src/csi-server.js';
import type { CsiMode } from '../src/csi-mode.js';
import { FakeHost } from './support/fake-host.js';
import { type LocalEngine, silentLogger, startLocalEngine } from './support/local-engine.js';

/** Calls a unary method of a grpc-js client and resolves with its answer or its ServiceError. */
function call<Res>(client: Client, method: string, request: object): Promise<{ answer?: Res; error?: ServiceError }> {
  return new Promise((resolve) => {
    const fn = (
      client as unknown as Record<string, (r: object, cb: (e: ServiceError | null, a?: Res) => void) => void>
    )[method] as (r: object, cb: (e: ServiceError | null, a?: Res) => void) => void;
    fn.call(client, request, (error, answer) => resolve(error ? { error } : { answer }));
  });
}

describe('the CSI server on a unix socket', () => {
  let local: LocalEngine;
  let server: CsiServer | undefined;
  const clients: Client[] = [];

  async function serve(mode: CsiMode) {
    const socket = join(local.dir, `csi-${mode}.sock`);
    server = await startCsiServer({
      engine: local.stowage.engine,
      host: new FakeHost(),
      socket,
      mode,
      pluginName: 'stowage.local',
      version: '9.9.9',
      nodeId: 'node-1',
      logger: silentLogger,
    });
    const v1 = csiProto().csi.v1;
    const address = `unix://${socket}`;
    const made = {
      identity: new v1.Identity(address, credentials.createInsecure()),
      controller: new v1.Controller(address, credentials.createInsecure()),
      node: new v1.Node(address, credentials.createInsecure()),
    };
    clients.push(made.identity, made.controller, made.node);
    return made;
  }

  beforeEach(async () => {
    local = await startLocalEngine(new FakeHost());
  });
  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    await server?.close();
    await local.dispose();
  });

  it('answers Identity: name, version, the controller service, ready', async () => {
    const { identity } = await serve('both');
    expect((await call(identity, 'GetPluginInfo', {})).answer).toMatchObject({
      name: 'stowage.local',
      vendor_version: '9.9.9',
    });
    expect((await call(identity, 'GetPluginCapabilities', {})).answer).toEqual({
      capabilities: [{ service: { type: 'CONTROLLER_SERVICE' }, type: 'service' }],
    });
    expect((await call(identity, 'Probe', {})).answer).toEqual({ ready: { value: true } });
  });

  it("probes the backings' readiness: FAILED_PRECONDITION naming the backing and why, ready again once it is", async () => {
    const { identity } = await serve('both');
    const root = join(local.dir, 'volumes');
    await rename(root, `${root}.away`);
    const probe = await call(identity, 'Probe', {});
    expect(probe.error?.code).toBe(status.FAILED_PRECONDITION);
    expect(probe.error?.details).toMatch(/^not ready: local: the volume root .* is not writable/);
    await rename(`${root}.away`, root);
    expect((await call(identity, 'Probe', {})).answer).toEqual({ ready: { value: true } });
  });

  it('creates and lists a volume over the wire, capacity as a 64-bit string', async () => {
    const { controller } = await serve('both');
    const created = await call<{ volume: { volume_id: string; capacity_bytes: string } }>(controller, 'CreateVolume', {
      name: 'wire1',
      volume_capabilities: [{ mount: {}, access_mode: { mode: 'SINGLE_NODE_WRITER' } }],
    });
    expect(created.answer?.volume).toMatchObject({ volume_id: 'wire1', capacity_bytes: '0' });
    const listed = await call<{ entries: { volume: { volume_id: string } }[] }>(controller, 'ListVolumes', {});
    expect(listed.answer?.entries.map((e) => e.volume.volume_id)).toEqual(['wire1']);
  });

  it('answers errors with the spec codes and a message', async () => {
    const { controller, node } = await serve('both');
    const noName = await call(controller, 'CreateVolume', {});
    expect(noName.error?.code).toBe(status.INVALID_ARGUMENT);
    expect(noName.error?.details).toBe('name is required');
    expect((await call(controller, 'ListVolumes', { starting_token: 'invalid-token' })).error?.code).toBe(
      status.ABORTED,
    );
    expect((await call(node, 'NodePublishVolume', {})).error?.code).toBe(status.INVALID_ARGUMENT);
    expect((await call(node, 'NodeStageVolume', {})).error?.code).toBe(status.UNIMPLEMENTED);
  });

  it('serves only Identity and Node in node mode, and advertises no controller', async () => {
    const { identity, controller, node } = await serve('node');
    expect((await call(identity, 'GetPluginCapabilities', {})).answer).toEqual({ capabilities: [] });
    expect((await call(controller, 'CreateVolume', { name: 'x' })).error?.code).toBe(status.UNIMPLEMENTED);
    expect((await call(node, 'NodeGetInfo', {})).answer).toMatchObject({ node_id: 'node-1' });
  });

  it('serves no Node service in controller mode', async () => {
    const { node, controller } = await serve('controller');
    expect((await call(node, 'NodeGetInfo', {})).error?.code).toBe(status.UNIMPLEMENTED);
    expect((await call(controller, 'ControllerGetCapabilities', {})).answer).toBeDefined();
  });
});
