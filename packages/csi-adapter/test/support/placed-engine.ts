import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type HostOperations, type NodeFacts, type SizeOption, VolumeEngine } from '@stowage/core';
import { FakeBackend, FakeBackendProvider } from '@stowage/testkit/fake-backend';
import { silentLogger } from './local-engine.js';

/**
 * A zone-bound block backing as the CSI adapter sees EBS, without a cloud: sizes in GiB (1 to 100, the fake's own
 * option spec), an instance id, an attach limit, a zone and region, volumes bound to the region. Its calls can be
 * held or failed through {@link FakeBackend}, as a slow attach or a failing one.
 */
export class PlacedProvider extends FakeBackendProvider {
  override readonly name = 'disk';
  readonly aliases = ['relocatable'];
  readonly size: SizeOption = { option: 'size', unitBytes: 2 ** 30 };

  nodeFacts(): NodeFacts {
    return {
      nodeId: 'i-0123456789abcdef0',
      maxVolumes: 25,
      topology: { region: 'eu-west-1', zone: 'eu-west-1b' },
      volumeTopology: ['region'],
    };
  }
}

/** A started engine over a {@link PlacedProvider}, and the backend behind it. */
export interface PlacedEngine {
  readonly engine: VolumeEngine;
  readonly backend: FakeBackend;
  dispose(): Promise<void>;
}

export async function startPlacedEngine(host: HostOperations): Promise<PlacedEngine> {
  const dir = await mkdtemp(join(tmpdir(), 'stowage-csi-placed-'));
  const backend = new FakeBackend();
  const engine = new VolumeEngine([new PlacedProvider(backend)], host, silentLogger, { stateDir: join(dir, 'state') });
  await engine.start();
  return {
    engine,
    backend,
    async dispose() {
      await engine.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
