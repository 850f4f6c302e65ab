import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LocalProvider } from '@stowage/driver-local';
import { describe, it } from 'vitest';
import { FakeBackend, FakeBackendProvider } from '@stowage/testkit/fake-backend';
import { runModel, type Foreign } from './model-runner.js';
import type { ModelBackend } from './plugin-world.js';

async function fakeBackend(): Promise<{ backend: ModelBackend; foreign: Foreign }> {
  const store = new FakeBackend();
  store.placeForeign('not-ours', 'ledger', "someone else's data");
  const backend: ModelBackend = {
    label: 'fake backend',
    options: [{ size: '1' }, { size: '2' }],
    providers: async () => [new FakeBackendProvider(store)],
    exists: async (name) => store.volumes.has(name),
    mounted: async (name, mountpoint) => store.mounted.has(name) && mountpoint === `/fake/${name}`,
    write: async (name, _mountpoint, file, content) => store.write(name, file, content),
    read: async (name, _mountpoint, file) => store.volumes.get(name)?.files.get(file),
    readsUnmounted: true,
    reboot: async () => store.mounted.clear(),
    close: async () => undefined,
  };
  return {
    backend,
    foreign: { intact: async () => store.volumes.get('not-ours')?.files.get('ledger') === "someone else's data" },
  };
}

async function localBackend(dir: string): Promise<{ backend: ModelBackend; foreign: Foreign }> {
  const root = join(dir, 'volumes');
  const foreignFile = join(root, 'not-a-volume', 'ledger');
  await mkdir(join(root, 'not-a-volume'), { recursive: true });
  await writeFile(foreignFile, "someone else's data");
  const dataDir = (name: string) => join(root, name, '_data');
  const backend: ModelBackend = {
    label: 'local driver',
    options: [{ mode: '0755' }, { mode: '0700' }],
    providers: async (log) => [new LocalProvider({ root }, log)],
    exists: async (name) => existsSync(join(root, name, 'volume.json')),
    // A local volume is its data directory: usable whenever it is there.
    mounted: async (name, mountpoint) => mountpoint === dataDir(name) && existsSync(mountpoint),
    write: (_name, mountpoint, file, content) => writeFile(join(mountpoint, file), content),
    read: (name, _mountpoint, file) => readFile(join(dataDir(name), file), 'utf8').catch(() => undefined),
    readsUnmounted: true,
    reboot: async () => undefined,
    close: async () => undefined,
  };
  return {
    backend,
    foreign: { intact: async () => (await readFile(foreignFile, 'utf8').catch(() => '')) === "someone else's data" },
  };
}

describe('the plugin against a model of what Docker and its containers may rely on', () => {
  it('holds on a backend whose state is seen whole, through restarts, kills at every step, faults and callers that give up', async () => {
    await runModel({
      label: 'fake backend',
      runs: Number(process.env.STOWAGE_MODEL_RUNS ?? 150),
      maxCommands: 40,
      backend: fakeBackend,
    });
  }, 600_000);

  it('holds on the local driver, on real directories', async () => {
    await runModel({
      label: 'local driver',
      runs: Number(process.env.STOWAGE_MODEL_LOCAL_RUNS ?? 40),
      maxCommands: 30,
      backend: localBackend,
    });
  }, 600_000);
});
