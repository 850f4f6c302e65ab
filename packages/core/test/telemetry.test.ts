import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { composeStowage } from '../src/compose/compose-stowage.js';
import { driverProviders } from '../src/compose/driver-module.js';
import { defineDriver, type DriverContext } from '../src/contract/driver-definition.js';
import type { HostOperations } from '../src/host/host-operations.js';
import { NO_CALLERS, type MountRecord } from '../src/engine/mount-record.js';
import { MountTable } from '../src/engine/mount-table.js';
import type {
  CloudCallObservation,
  JournalWriteObservation,
  StowageTelemetry,
} from '../src/telemetry/stowage-telemetry.js';
import { NO_TELEMETRY } from '../src/telemetry/stowage-telemetry.js';
import { MemoryProvider } from './support/memory-provider.js';
import { RecordingLogger } from './support/recording-logger.js';
import { silentLogger } from './support/silent-logger.js';

/** Telemetry that keeps what it is told. */
class RecordingTelemetry implements StowageTelemetry {
  readonly calls: CloudCallObservation[] = [];
  readonly writes: JournalWriteObservation[] = [];
  cloudCall(observation: CloudCallObservation): void {
    this.calls.push(observation);
  }
  journalWrite(observation: JournalWriteObservation): void {
    this.writes.push(observation);
  }
}

const host = { marker: 'fake host' } as unknown as HostOperations;
const CALL: CloudCallObservation = {
  service: 'acme',
  action: 'Provision',
  outcome: 'ok',
  attempts: 1,
  throttles: 0,
  seconds: 0.01,
};

/** A driver that keeps the context it was made with and reports one cloud call as it starts. */
function reportingDriver(contexts: Array<DriverContext<unknown>>) {
  return defineDriver({
    name: 'mem',
    description: 'in-memory, reporting a call at init',
    create: (context) => {
      contexts.push(context);
      return Object.assign(new MemoryProvider('mem'), {
        init: async () => context.telemetry.cloudCall(CALL),
      });
    },
  });
}

describe('telemetry', () => {
  let stateDir: string;
  beforeEach(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'stowage-telemetry-'));
  });
  afterEach(async () => {
    await rm(stateDir, { recursive: true, force: true });
  });

  const compose = (telemetry?: StowageTelemetry, logger = silentLogger, contexts: Array<DriverContext<unknown>> = []) =>
    composeStowage({
      config: { stateDir, logLevel: 'silent', drivers: { mem: { settings: {} } } },
      drivers: [reportingDriver(contexts)],
      logger,
      host,
      ...(telemetry ? { telemetry } : {}),
    });

  it("reaches the embedder's observer from drivers and from the engine's journal writes", async () => {
    const telemetry = new RecordingTelemetry();
    const stowage = await compose(telemetry);
    await stowage.engine.start();
    try {
      expect(telemetry.calls).toEqual([CALL]);
      const before = telemetry.writes.length;
      await stowage.engine.create('v', {});
      await stowage.engine.mount('v', 'caller-1');
      await stowage.engine.unmount('v', 'caller-1');
      const written = telemetry.writes.slice(before);
      // The create's catalogue entry, and the mount table's mounting, mounted and released changes at least.
      expect(written.filter((w) => w.journal === 'catalogue').length).toBeGreaterThanOrEqual(1);
      expect(written.filter((w) => w.journal === 'mounts').length).toBeGreaterThanOrEqual(2);
      for (const write of written) {
        expect(['mounts', 'catalogue']).toContain(write.journal);
        expect(write.seconds).toBeGreaterThanOrEqual(0);
        expect(write.seconds).toBeLessThan(60);
      }
      expect(written.some((w) => w.journal === 'mounts' && w.synced)).toBe(true);
    } finally {
      await stowage.close();
    }
  });

  it('gives drivers an observer that records nothing when the embedder gives none', async () => {
    const contexts: Array<DriverContext<unknown>> = [];
    const stowage = await compose(undefined, silentLogger, contexts);
    await stowage.engine.start();
    await stowage.close();
    expect(contexts).toHaveLength(1);
    expect(contexts[0]?.telemetry).toBe(NO_TELEMETRY);
  });

  it('keeps a throwing observer from failing the observed work, and logs its failure once', async () => {
    const logger = new RecordingLogger();
    let thrown = 0;
    const broken: StowageTelemetry = {
      cloudCall: () => {
        thrown += 1;
        throw new Error('exporter broke');
      },
      journalWrite: () => {
        thrown += 1;
        throw new Error('exporter broke');
      },
    };
    const stowage = await compose(broken, logger);
    await stowage.engine.start();
    try {
      await stowage.engine.create('v', {});
      await stowage.engine.mount('v', 'caller-1');
      expect(await stowage.engine.get('v')).toMatchObject({ name: 'v' });
    } finally {
      await stowage.close();
    }
    expect(thrown).toBeGreaterThan(2);
    const warnings = logger.problems().filter((line) => line.fields.err === 'exporter broke');
    expect(warnings.map((line) => line.fields.method).sort()).toEqual(['cloudCall', 'journalWrite']);
  });

  it('tells a journal write that need not be synced apart from one that was', async () => {
    const telemetry = new RecordingTelemetry();
    const table = new MountTable(stateDir, telemetry);
    await table.load();
    try {
      const mounting: MountRecord = { backing: 'mem', state: 'mounting', callers: NO_CALLERS };
      await table.set('a', mounting);
      await table.set('b', mounting, { sync: false });
      await table.delete('a');
      expect(telemetry.writes.map(({ journal, synced }) => ({ journal, synced }))).toEqual([
        { journal: 'mounts', synced: true },
        { journal: 'mounts', synced: false },
        { journal: 'mounts', synced: true },
      ]);
    } finally {
      await table.close();
    }
  });

  it('is given to the providers a driver makes for its own tests', async () => {
    const telemetry = new RecordingTelemetry();
    const [provider] = await driverProviders(reportingDriver([]), { stateDir, telemetry });
    await provider?.init?.();
    expect(telemetry.calls).toEqual([CALL]);
  });
});

describe('a journal write observer that throws', () => {
  it('still has the change it reports acknowledged and kept', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'stowage-telemetry-'));
    try {
      const throwing: StowageTelemetry = {
        cloudCall: () => undefined,
        journalWrite: () => {
          throw new Error('exporter broke');
        },
      };
      const table = new MountTable(stateDir, throwing);
      await table.load();
      const mounting: MountRecord = { backing: 'mem', state: 'mounting', callers: NO_CALLERS };
      await table.set('a', mounting);
      await table.set('b', mounting);
      expect(table.entries().map(([name]) => name)).toEqual(['a', 'b']);
      await table.close();
    } finally {
      await rm(stateDir, { recursive: true, force: true });
    }
  });
});
