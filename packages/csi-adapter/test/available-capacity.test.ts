import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import {
  type HostOperations,
  type MountResult,
  type ProviderVolume,
  type StorageProvider,
  StowageError,
  VolumeEngine,
} from '@stowage/core';
import { LocalProvider } from '@stowage/driver-local';
import { afterEach, describe, expect, it } from 'vitest';
import { getCapacity } from '../src/available-capacity.js';
import { ControllerService } from '../src/controller-service.js';
import type { GetCapacityRequest__Output } from '../src/generated/csi/v1/GetCapacityRequest.js';
import { OperationsInFlight } from '../src/operations-in-flight.js';
import { blockCapability, mountCapability } from './support/capabilities.js';
import { expectCode } from './support/expect-code.js';
import { silentLogger } from './support/local-engine.js';

/** 5 TiB: past 2^32, so the int64 is carried whole as the string grpc-js sends. */
const FREE = 5 * 1024 ** 4;

/** The local backing on a file system whose free space the test knows (the statfs itself is driver-local's test). */
class KnownSizeLocal extends LocalProvider {
  override async capacity(): Promise<number> {
    return FREE;
  }
}

/** A shared backing as the CSI adapter sees EFS: no capacity of its own, and nothing else asked of it here. */
class ElasticProvider implements StorageProvider {
  readonly name = 'efs';
  readonly aliases = ['shared'];
  readonly scope = 'global' as const;
  readonly options = [];
  async create(): Promise<ProviderVolume> {
    throw StowageError.backendFailure('not in this test');
  }
  async remove(): Promise<void> {}
  async inspect(): Promise<ProviderVolume | undefined> {
    return undefined;
  }
  async list(): Promise<ProviderVolume[]> {
    return [];
  }
  async mount(): Promise<MountResult> {
    throw StowageError.backendFailure('not in this test');
  }
  async unmount(): Promise<void> {}
}

const request = (overrides: Partial<GetCapacityRequest__Output> = {}): GetCapacityRequest__Output => ({
  volume_capabilities: [],
  parameters: {},
  accessible_topology: null,
  ...overrides,
});

describe('GetCapacity: the free bytes of the backing asked, offered where the default backing has a number', () => {
  const engines: VolumeEngine[] = [];
  let dir: string | undefined;

  afterEach(async () => {
    for (const engine of engines.splice(0)) await engine.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function engineWith(defaultBacking: 'local' | 'efs'): Promise<VolumeEngine> {
    dir = await mkdtemp(join(tmpdir(), 'stowage-csi-capacity-'));
    const local = new KnownSizeLocal({ root: join(dir, 'volumes') }, silentLogger);
    const engine = new VolumeEngine([local, new ElasticProvider()], {} as HostOperations, silentLogger, {
      stateDir: join(dir, 'state'),
      defaultBacking,
    });
    await engine.start();
    engines.push(engine);
    return engine;
  }

  const advertised = async (engine: VolumeEngine) =>
    (await new ControllerService(engine, new OperationsInFlight()).getCapabilities()).capabilities?.map(
      (c) => c.rpc?.type,
    );

  it('advertises GET_CAPACITY and answers the default (local) backing when asked with no parameters', async () => {
    const engine = await engineWith('local');
    expect(await advertised(engine)).toContain('GET_CAPACITY');
    expect(await getCapacity(engine, request())).toEqual({ available_capacity: String(FREE) });
    expect(await getCapacity(engine, request({ parameters: { backing: 'local' } }))).toEqual({
      available_capacity: '5497558138880',
    });
  });

  it('answers 0 for capabilities the backing cannot serve: no such volume fits anywhere', async () => {
    const engine = await engineWith('local');
    const served = request({ volume_capabilities: [mountCapability('SINGLE_NODE_READER_ONLY')] });
    expect((await getCapacity(engine, served)).available_capacity).toBe(String(FREE));
    for (const capability of [mountCapability('MULTI_NODE_MULTI_WRITER'), blockCapability()]) {
      const unserved = request({ volume_capabilities: [mountCapability(), capability] });
      expect((await getCapacity(engine, unserved)).available_capacity).toBe('0');
    }
  });

  it('refuses a backing with no capacity as INVALID_ARGUMENT, naming the backing that has one', async () => {
    const engine = await engineWith('local');
    const message = await expectCode(
      getCapacity(engine, request({ parameters: { backing: 'shared' } })),
      status.INVALID_ARGUMENT,
    );
    expect(message).toBe(
      'parameters: backing efs has no capacity to report (its storage grows or is made with its volumes); ' +
        'GetCapacity answers for backing local',
    );
    const unknown = await expectCode(
      getCapacity(engine, request({ parameters: { backing: 'tape' } })),
      status.INVALID_ARGUMENT,
    );
    expect(unknown).toContain('unknown backing "tape"');
  });

  it('does not advertise GET_CAPACITY when the default backing has no number, a CO asking with no parameters', async () => {
    const engine = await engineWith('efs');
    expect(await advertised(engine)).toEqual(['CREATE_DELETE_VOLUME', 'LIST_VOLUMES']);
    // Still answered for a backing that has one, for a CO that names it.
    expect((await getCapacity(engine, request({ parameters: { backing: 'local' } }))).available_capacity).toBe(
      String(FREE),
    );
  });
});
