import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, type StowageConfig } from '@stowage/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { composeFromConfig } from '../src/composition/compose-from-config.js';

// A third-party global backing that calls itself `shared`, as the EFS driver does, written without any import.
const SHARED_DRIVER = `
const volumes = new Map();
const provider = {
  name: 'memo', aliases: ['shared'], scope: 'global', options: [],
  async create({ name }) { const v = { name, options: {} }; volumes.set(name, v); return v; },
  async remove({ name }) { volumes.delete(name); },
  async inspect(name) { return volumes.get(name); },
  async list() { return [...volumes.values()]; },
  async mount({ name }) { return { path: '/nowhere/' + name }; },
  async unmount() {},
};
export const driver = { name: 'memo', description: 'shared stand-in', settings: [], create: () => provider };
`;

describe('composeFromConfig: the Docker adapter picks the default backing as Cloudstor did', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stowage-compose-'));
    await writeFile(join(dir, 'memo.mjs'), SHARED_DRIVER);
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function defaultBackingOf(config: Partial<StowageConfig>): Promise<string> {
    const stowage = await composeFromConfig(
      {
        stateDir: join(dir, 'state'),
        logLevel: 'silent',
        drivers: { local: { settings: { root: join(dir, 'volumes') } }, memo: { module: './memo.mjs', settings: {} } },
        ...config,
      },
      { logger: createLogger({ level: 'silent' }), cwd: dir },
    );
    try {
      await stowage.engine.start({ restore: false });
      return (await stowage.engine.create('v')).backing;
    } finally {
      await stowage.close();
    }
  }

  it('prefers shared over local whatever the order the drivers are enabled in', async () => {
    expect(await defaultBackingOf({})).toBe('memo');
  });

  it('takes the configured default over the preference', async () => {
    expect(await defaultBackingOf({ defaultBacking: 'local' })).toBe('local');
  });
});
