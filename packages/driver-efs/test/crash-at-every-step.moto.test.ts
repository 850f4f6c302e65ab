import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { fileSystemEntries, fileSystemRoot, type EfsNode } from './support/efs-nodes.js';
import { useEfsTestWorld } from './support/efs-test-world.js';
import { SteppedFileOperations, type Step } from './support/stepped-file-operations.js';

const t = useEfsTestWorld();

const OPTIONS = { backing: 'shared', uid: '1000', mode: '0750' } as const;
const FOREIGN = 'cloudstor-vol';
const LEASE_MS = 60_000;

/** A file system with a Cloudstor volume beside what the test does: it must come through every crash untouched. */
async function fileSystem(): Promise<{ id: string; root: string }> {
  const id = await t.world.fileSystem();
  const root = await fileSystemRoot(t.dir.exports, id);
  await mkdir(join(root, FOREIGN));
  await writeFile(join(root, FOREIGN, 'keep'), 'not stowage data\n');
  return { id, root };
}

/**
 * What the user can see of volume `vol` on `node`, checked: none at all, or a whole volume. An access point volume's
 * directory appears on its first mount; a directory volume's with its record.
 */
async function noneOrWhole(node: EfsNode, root: string, data?: string): Promise<'none' | 'whole'> {
  expect(await readFile(join(root, FOREIGN, 'keep'), 'utf8')).toBe('not stowage data\n');
  const volume = await node.engine.get('vol');
  const entries = await fileSystemEntries(root);
  if (!volume) {
    expect((await node.engine.list()).map((v) => v.name)).toEqual([]);
    expect(entries).toEqual({ root: [FOREIGN], meta: [], work: [] });
    return 'none';
  }
  if (volume.status?.accessPointId === undefined) {
    expect(entries).toEqual({ root: ['.stowage', FOREIGN, 'vol'], meta: ['vol.json'], work: [] });
  } else {
    expect(entries).toEqual({
      root: data === undefined ? expect.arrayContaining([FOREIGN]) : [FOREIGN, 'vol'],
      meta: [],
      work: [],
    });
  }
  const path = await node.engine.mount('vol', 'check');
  const made = await stat(path);
  expect([made.isDirectory(), made.uid, made.mode & 0o777]).toEqual([true, 1000, 0o750]);
  if (data !== undefined) expect(await readFile(join(path, 'data'), 'utf8')).toBe(data);
  await node.engine.unmount('vol', 'check');
  return 'whole';
}

/** The file system steps `operation` takes on a fresh file system, counted with nothing frozen. */
async function countSteps(
  accessPoints: boolean,
  prepare: (node: EfsNode) => Promise<void>,
  operation: (node: EfsNode) => Promise<unknown>,
): Promise<Step[]> {
  const { id } = await fileSystem();
  const ops = new SteppedFileOperations();
  const node = await t.nodes.start('count', { fileSystemId: id, accessPoints }, { fileOperations: ops });
  await prepare(node);
  const from = ops.steps.length;
  await operation(node);
  return ops.steps.slice(from);
}

/**
 * For each step of `operation`: a node is stopped for ever right before it (what `kill -9` there leaves), then
 * started again, which finishes or undoes what the crash left; the user must see no volume or a whole one, and the
 * retry must complete. Answers what was seen after each step's crash.
 */
async function crashAtEachStep(options: {
  accessPoints: boolean;
  prepare: (node: EfsNode) => Promise<void>;
  operation: (node: EfsNode) => Promise<unknown>;
  retry: (node: EfsNode, seen: 'none' | 'whole', root: string) => Promise<void>;
  data?: string;
}): Promise<string[]> {
  const { accessPoints } = options;
  const steps = await countSteps(accessPoints, options.prepare, options.operation);
  expect(steps.length).toBeGreaterThan(5);
  const seen: string[] = [];
  for (const [index, step] of steps.entries()) {
    const { id, root } = await fileSystem();
    const ops = new SteppedFileOperations();
    const label = `node-${index}`;
    const node = await t.nodes.start(label, { fileSystemId: id, accessPoints }, { fileOperations: ops });
    await options.prepare(node);
    const frozen = ops.freezeBefore(index);
    void options.operation(node).catch(() => undefined);
    const reached = await frozen.reached;
    expect(reached.op, `step ${index}`).toBe(step.op);
    await t.nodes.crash(node);

    const restarted = await t.nodes.start(label, { fileSystemId: id, accessPoints });
    const outcome = await noneOrWhole(restarted, root, options.data);
    seen.push(`${index} before ${step.op} ${basename(step.path).replace(/[0-9a-f]{16}/, '<token>')}: ${outcome}`);
    await options.retry(restarted, outcome, root);
    await t.nodes.crash(restarted);
  }
  return seen;
}

describe.each([
  ['a directory volume', false],
  ['an access point volume', true],
])('%s killed at any step', (_kind, accessPoints) => {
  it('of its create leaves no volume or a whole one after the restart, and the retried create makes it whole', async () => {
    const seen = await crashAtEachStep({
      accessPoints,
      prepare: async () => undefined,
      operation: (node) => node.engine.create('vol', OPTIONS),
      retry: async (node, _outcome, root) => {
        await node.engine.create('vol', OPTIONS);
        expect(await noneOrWhole(node, root)).toBe('whole');
      },
    });
    console.log(
      `create killed before each of its ${seen.length} file system steps, then restarted:\n  ${seen.join('\n  ')}`,
    );
    // Published in one step: the link of its record, or the creation of its access point (right after the lock is
    // taken, whose last step drops the claim file's own name). No volume before it, a whole one after.
    const published = seen.findIndex((line) =>
      line.includes(accessPoints ? 'before unlink claim.' : 'before link record.'),
    );
    expect(published).toBeGreaterThan(0);
    expect(seen.map((line) => line.split(': ')[1])).toEqual(
      seen.map((_, index) => (index <= published ? 'none' : 'whole')),
    );
  });

  it('of its remove leaves the whole volume with its data or none of it after the restart, and the retried remove completes', async () => {
    const seen = await crashAtEachStep({
      accessPoints,
      prepare: async (node) => {
        await node.engine.create('vol', OPTIONS);
        await writeFile(join(await node.engine.mount('vol', 'writer'), 'data'), 'written before the remove\n');
        await node.engine.unmount('vol', 'writer');
      },
      operation: (node) => node.engine.remove('vol'),
      data: 'written before the remove\n',
      retry: async (node, outcome) => {
        if (outcome === 'whole') await node.engine.remove('vol');
        else await expect(node.engine.remove('vol')).rejects.toThrow(/not found/);
        expect(await node.engine.get('vol')).toBeUndefined();
      },
    });
    expect(seen.at(0)).toMatch(/: whole$/);
    expect(seen.at(-1)).toMatch(/: none$/);
    console.log(
      `remove killed before each of its ${seen.length} file system steps, then restarted:\n  ${seen.join('\n  ')}`,
    );
  });
});

const A_CLOCK = 1_000_000;

/** Node `a` creating `vol` (its clock at A_CLOCK), stopped before the first of its steps `at` picks. */
async function createFrozenOnA(at: (step: Step) => boolean) {
  const { id, root } = await fileSystem();
  const ops = new SteppedFileOperations();
  const a = await t.nodes.start('a', { fileSystemId: id }, { fileOperations: ops, clock: () => A_CLOCK });
  const frozen = ops.freezeWhen(at);
  const created = a.engine.create('vol', OPTIONS);
  await frozen.reached;
  return { id, root, a, frozen, created };
}

describe('a create that crashed on another node', () => {
  it('is undone by the next create of the name once its lock is older than the lease, which then makes the volume whole', async () => {
    // Stopped with `/vol` in place but its record not published: not a volume for anyone yet.
    const { id, root, a, created } = await createFrozenOnA(
      (step) => step.op === 'writeNewFile' && basename(step.path).startsWith('record.'),
    );
    void created.catch(() => undefined);
    await t.nodes.crash(a);
    // Marks A's half-made directory, to tell it from B's.
    await writeFile(join(root, 'vol', 'half-made'), '');

    const b = await t.nodes.start('b', { fileSystemId: id }, { clock: () => A_CLOCK + LEASE_MS + 1 });
    expect(await b.engine.get('vol')).toBeUndefined();
    await b.engine.create('vol', { ...OPTIONS, mode: '0700' });
    // B undid A's half-made directory and made its own, with its own options.
    expect(await readdir(join(root, 'vol'))).toEqual([]);
    expect((await stat(join(root, 'vol'))).mode & 0o777).toBe(0o700);
    expect(await fileSystemEntries(root)).toEqual({ root: ['.stowage', FOREIGN, 'vol'], meta: ['vol.json'], work: [] });
  });

  it('is waited for while under way, and the waiting create answers with the volume it made', async () => {
    const { id, root, frozen, created } = await createFrozenOnA(
      (step) => step.op === 'link' && basename(step.path).startsWith('record.'),
    );
    const opsB = new SteppedFileOperations();
    const b = await t.nodes.start('b', { fileSystemId: id }, { fileOperations: opsB, clock: () => A_CLOCK + 5_000 });
    const waiting = b.engine.create('vol', OPTIONS);
    // B tried the lock, found A's, and makes nothing of its own while A holds it.
    await vi.waitFor(() => expect(opsB.steps.filter((step) => step.op === 'link').length).toBeGreaterThan(0));
    frozen.thaw();
    const [fromA, fromB] = await Promise.all([created, waiting]);
    expect(fromB).toEqual(fromA);
    expect(opsB.steps.filter((step) => step.op === 'mkdir' && basename(step.path).startsWith('draft.'))).toEqual([]);
    expect(await fileSystemEntries(root)).toEqual({ root: ['.stowage', FOREIGN, 'vol'], meta: ['vol.json'], work: [] });
  });

  it('makes a create of the name answer that it is busy, if it lasts, and leaves the name to it', async () => {
    const { id, root, frozen, created } = await createFrozenOnA(
      (step) => step.op === 'rename' && basename(step.path).startsWith('draft.'),
    );
    const b = await t.nodes.start(
      'b',
      { fileSystemId: id },
      { clock: () => A_CLOCK, lockTiming: { waitMs: 300, pollMs: 20 } },
    );
    await expect(b.engine.create('vol', OPTIONS)).rejects.toThrow(
      /volume "vol" is being created by another node .*; try again shortly/,
    );
    frozen.thaw();
    await created;
    expect(await b.engine.get('vol')).toMatchObject({ name: 'vol', options: { mode: '0750', uid: '1000' } });
    expect(await fileSystemEntries(root)).toEqual({ root: ['.stowage', FOREIGN, 'vol'], meta: ['vol.json'], work: [] });
  });
});
