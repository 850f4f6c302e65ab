import { randomBytes } from 'node:crypto';
import type { BigIntStats } from 'node:fs';
import { lstat, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isVolumeName, StowageError, volumeEntry, type Logger } from '@stowage/core';
import { errnoCode, type FileOperations } from './file-operations.js';

/** Beside the volumes at the file system's root: Stowage's own directory, and its work area inside. */
export const META_DIR = '.stowage';
export const WORK_DIR = 'work';

/** What an operation holding a volume name's lock is doing. `recover` only finishes what a crash left. */
export type ClaimOp = 'create' | 'remove' | 'recover';

/**
 * What a claim file says: who holds (or held) the lock of a volume name, for what, and what it made so far. It is
 * the proof that lets anyone finish or undo an operation a crash interrupted, and nothing else.
 */
export interface NameClaim {
  readonly name: string;
  readonly op: ClaimOp;
  /** 16 hex digits, in the names of everything the operation makes in the work area. */
  readonly token: string;
  /** The node (a random ID kept under the node's mount root) and the run of the plugin that took it. */
  readonly node: string;
  readonly run: string;
  /** When it was taken, in ms since the epoch by the taker's clock. */
  readonly since: number;
  /**
   * The inode number (decimal) of the directory the operation made or is deleting at `/<name>`: once it is written
   * here, `/<name>` with this inode is Stowage's own, and anything else at `/<name>` is not.
   */
  readonly ino?: string;
  /**
   * Its birth time in ns (decimal), where the file system keeps one: a file system reuses the inode numbers of
   * deleted files, so a directory made later at `/<name>` with the same number is told apart by this.
   */
  readonly born?: string;
}

/** What identifies a directory in a claim: its inode, and its birth time where known. */
export type DirectoryIdentity = Pick<BigIntStats, 'ino' | 'birthtimeNs'>;

/** How long locks last and how long an operation waits for another node's. */
export interface LockTiming {
  /** A lock older than this is taken as its holder's crash (another node's; this node's own are known at once). */
  readonly leaseMs: number;
  /** How long an operation waits for another node's live lock before it answers that the name is busy. */
  readonly waitMs: number;
  readonly pollMs: number;
}

/**
 * Well under the engine's deadlines (Docker waits 60 s for a Remove): a create or remove of a directory takes
 * milliseconds, so a lock held for a minute is a crashed node's, not a slow one's. Clocks of a cluster's nodes
 * agree to well within that.
 */
export const DEFAULT_LOCK_TIMING: LockTiming = { leaseMs: 60_000, waitMs: 20_000, pollMs: 200 };

/** What every work area of one provider shares. */
export interface WorkAreaContext {
  readonly node: string;
  readonly run: string;
  /** The clock leases are judged by. */
  readonly now: () => number;
  readonly timing: LockTiming;
  readonly ops: FileOperations;
  readonly logger: Logger;
  /** `<root>\0<name>` of every lock this run holds now, so that this run never takes its own live lock as a crash's. */
  readonly held: Set<string>;
}

/** Answers whether volume `name` is published (its record, or its access point, exists) right now. */
export type IsPublished = (name: string) => Promise<boolean>;

/** A lock held: released, with everything its operation left, by {@link WorkArea.finish}. */
export interface HeldName {
  readonly claim: NameClaim;
  /** Claims of crashed holders this one took the lock over from, oldest first (already recovered). */
  readonly inherited: readonly NameClaim[];
}

interface Holding extends HeldName {
  claim: NameClaim;
  /** The lock file, then a steal file per inherited claim: the last one is this holder's. */
  readonly links: readonly string[];
}

const TOKEN = /^[0-9a-f]{16}$/;
const BEING: Readonly<Record<ClaimOp, string>> = {
  create: 'created',
  remove: 'removed',
  recover: 'recovered from a crash',
};
const KINDS = ['claim', 'steal', 'draft', 'record', 'doomed', 'withdrawn', 'note'] as const;
type Kind = (typeof KINDS)[number];

/**
 * The work area `/.stowage/work` of one mounted file system: a lock per volume name, shared by every node, and
 * whatever a create or remove has under way. Only Stowage makes names here, each carrying the token of the
 * operation that made it (`draft.<token>.<name>`), so a crash's leftovers are always recognisable as Stowage's own,
 * and nothing outside this directory is ever touched without proof (the inode in a claim).
 *
 * Locks work across nodes with link(2), which NFS performs atomically at the server: `lock.<name>` is a hard link
 * of its holder's claim file. A holder that crashed is taken over with `steal.<its token>.<name>`, again by link,
 * so that of several nodes finding one crashed holder exactly one takes over, and recovers what the crash left
 * before doing its own work. A holder is taken as crashed when it is a previous run of this node, or when its lock
 * is older than the lease; a live holder is waited for.
 */
export class WorkArea {
  readonly meta: string;
  readonly work: string;

  constructor(
    /** Where the file system is mounted on this node. */
    readonly root: string,
    private readonly ctx: WorkAreaContext,
  ) {
    this.meta = join(root, META_DIR);
    this.work = join(this.meta, WORK_DIR);
  }

  /** The system calls that change the file system. */
  get ops(): FileOperations {
    return this.ctx.ops;
  }

  /** The volume's directory `/<name>`. */
  dataDir(name: string): string {
    return join(this.root, volumeEntry(name));
  }

  /** A work area entry of operation `token` for volume `name`. */
  path(kind: Kind, token: string, name: string): string {
    return join(this.work, `${kind}.${token}.${volumeEntry(name)}`);
  }

  private lockFile(name: string): string {
    return join(this.work, `lock.${volumeEntry(name)}`);
  }

  /**
   * Takes the lock of `name` for `op`, waiting for a live holder, taking over from a crashed one after finishing
   * or undoing what it left (judged with `isPublished`). Throws BackendFailure when the name stays busy.
   */
  async acquire(name: string, op: ClaimOp, isPublished: IsPublished): Promise<HeldName> {
    const { ops } = this.ctx;
    const claim: NameClaim = {
      name,
      op,
      token: randomBytes(8).toString('hex'),
      node: this.ctx.node,
      run: this.ctx.run,
      since: this.ctx.now(),
    };
    const claimFile = this.path('claim', claim.token, name);
    try {
      return await this.take(claim, claimFile, isPublished);
    } finally {
      // The lock and steal files are links of their own to the claim: its own name is only needed while trying.
      await unlinkIfThere(ops, claimFile).catch(() => undefined);
    }
  }

  private async take(claim: NameClaim, claimFile: string, isPublished: IsPublished): Promise<HeldName> {
    const { ops, timing, logger } = this.ctx;
    const { name } = claim;
    const lockFile = this.lockFile(name);
    const waitStarted = performance.now();
    let waiting = false;
    for (;;) {
      await this.writeClaim(claimFile, claim);
      const locked = await ops.link(claimFile, lockFile).then(
        () => true,
        (error: unknown) => {
          const code = errnoCode(error);
          // ENOENT: the claim file went with a sweep of the work area; it is written again.
          if (code === 'EEXIST' || code === 'ENOENT') return false;
          throw StowageError.wrap(error, `cannot lock volume name "${name}" in ${this.work}`);
        },
      );
      if (locked) return this.hold({ claim, inherited: [], links: [lockFile] }, isPublished);
      const chain = await this.readChain(name);
      const holder = chain.at(-1);
      if (!holder) continue;
      if (!this.abandoned(holder)) {
        if (performance.now() - waitStarted > timing.waitMs) {
          throw StowageError.backendFailure(
            `volume "${name}" is being ${BEING[holder.op]} by another node (since ` +
              `${new Date(holder.since).toISOString()}); try again shortly. If that node stopped, its lock ${lockFile} ` +
              `is taken over ${Math.round(timing.leaseMs / 1000)} s after it was taken`,
          );
        }
        if (!waiting) {
          logger.info(
            { volume: name, op: holder.op, holder: holder.node, since: new Date(holder.since).toISOString() },
            'waiting for another node to finish with this volume name',
          );
          waiting = true;
        }
        await sleep(timing.pollMs);
        continue;
      }
      const steal = this.path('steal', holder.token, name);
      try {
        await ops.link(claimFile, steal);
      } catch (error) {
        // Another node took it over first (its claim is next in the chain now), or the sweep took our claim.
        if (errnoCode(error) === 'EEXIST' || errnoCode(error) === 'ENOENT') continue;
        throw StowageError.wrap(error, `cannot take over the lock of volume name "${name}"`);
      }
      // The chain read above may be stale (the holder released, a new one locked): the steal counts only if the
      // chain still ends with the holder, now followed by this claim.
      const after = await this.readChain(name);
      if (!sameTokens(after, [...chain, claim])) {
        await ops.unlink(steal).catch(() => undefined);
        continue;
      }
      logger.warn(
        { volume: name, op: holder.op, holder: holder.node, since: new Date(holder.since).toISOString() },
        'took over the lock of a create or remove that crashed; finishing or undoing it',
      );
      const links = [
        lockFile,
        ...chain.slice(1).map((c, i) => this.path('steal', (chain[i] as NameClaim).token, c.name)),
        steal,
      ];
      return await this.hold({ claim, inherited: chain, links }, isPublished);
    }
  }

  /**
   * Runs `work` holding the lock of `name`, then finishes: on success it clears what the operation left in the
   * work area; on failure it undoes the operation exactly as a recovery after a crash would. An undo that fails
   * leaves the lock, with its proof, for the next operation on the name, and is reported with the failure.
   */
  async run<T>(name: string, op: ClaimOp, isPublished: IsPublished, work: (held: HeldName) => Promise<T>): Promise<T> {
    const held = await this.acquire(name, op, isPublished);
    let result: T;
    try {
      result = await work(held);
    } catch (error) {
      try {
        await this.finish(held, isPublished);
      } catch (undoError) {
        this.ctx.logger.error(
          { volume: name, op, err: (undoError as Error).message },
          'could not undo a failed operation; the next create or remove of the name does',
        );
        throw StowageError.wrap(
          error,
          `${op} of volume "${name}" failed, and undoing it failed too (${(undoError as Error).message}); the next create or remove of "${name}" finishes undoing it`,
        );
      }
      throw error;
    }
    await this.finish(held, isPublished).catch((error: unknown) =>
      this.ctx.logger.warn(
        { volume: name, op, err: (error as Error).message },
        'done, but could not clear the work area; the next create or remove of the name does',
      ),
    );
    return result;
  }

  /**
   * Records in the held claim the inode of the directory the operation made or is about to delete at `/<name>`,
   * before it is moved there or its record withdrawn: from then on a crash leaves proof of what is Stowage's.
   */
  async note(held: HeldName, directory: DirectoryIdentity): Promise<void> {
    const holding = held as Holding;
    const born = directory.birthtimeNs > 0n ? { born: directory.birthtimeNs.toString() } : {};
    const claim = { ...holding.claim, ino: directory.ino.toString(), ...born };
    const file = this.path('note', claim.token, claim.name);
    const { ops } = this.ctx;
    await ops.writeNewFile(file, `${JSON.stringify(claim)}\n`);
    // Renamed over the lock (or steal) file, so the claim changes in one step for every reader.
    await ops.rename(file, holding.links.at(-1) as string);
    holding.claim = claim;
  }

  /**
   * Finishes or undoes what the held operation left (exactly what a recovery after a crash would do), then
   * releases the lock. If that fails the lock stays, with the proof in it, for the next operation on the name.
   */
  async finish(held: HeldName, isPublished: IsPublished): Promise<void> {
    const holding = held as Holding;
    const key = this.heldKey(holding.claim.name);
    try {
      await this.recover(holding.claim, isPublished);
    } catch (error) {
      this.ctx.held.delete(key);
      throw error;
    }
    await this.release(holding).finally(() => this.ctx.held.delete(key));
  }

  /**
   * What this node's earlier runs left (a crash, then this start): each lock they held is taken over, finished or
   * undone and released, and their lock files that no lock refers to go. Other nodes' live locks are left alone.
   */
  async recoverOwnCrashes(isPublished: IsPublished): Promise<number> {
    const names = new Set<string>();
    for (const entry of await this.entries()) {
      const name = entry.startsWith('lock.') ? entry.slice('lock.'.length) : parseEntry(entry)?.name;
      if (name !== undefined && isVolumeName(name)) names.add(name);
    }
    let recovered = 0;
    for (const name of names) {
      const chain = await this.readChain(name);
      if (chain.at(-1)?.node === this.ctx.node) {
        await this.finish(await this.acquire(name, 'recover', isPublished), isPublished);
        recovered += 1;
      } else {
        await this.sweep(name, new Set(chain.map((claim) => claim.token)));
      }
    }
    await this.tidy();
    return recovered;
  }

  /**
   * Finishes or undoes what operation `claim` left: its draft, its withdrawn record and its doomed directory go,
   * and `/<name>` goes too if, and only if, it is the inode the claim noted and the volume is not published (a
   * create that never published it, or a remove that withdrew it). Idempotent.
   */
  async recover(claim: NameClaim, isPublished: IsPublished): Promise<void> {
    const { name, token } = claim;
    const { ops } = this.ctx;
    if (claim.ino !== undefined && !(await isPublished(name))) await this.doom(claim);
    await ops.removeTree(this.path('draft', token, name));
    await ops.removeTree(this.path('doomed', token, name));
    for (const kind of ['record', 'withdrawn', 'note', 'claim'] as const)
      await unlinkIfThere(ops, this.path(kind, token, name));
  }

  /**
   * Moves `/<name>` into the work area, where finishing the lock deletes it, if it is the directory the held
   * claim noted; anything else there stays. For a remove that has just unpublished the volume itself, without
   * asking whether it is published (an API may not show a deletion at once).
   */
  async doom(held: HeldName | NameClaim): Promise<void> {
    const claim = 'claim' in held ? held.claim : held;
    const dir = this.dataDir(claim.name);
    const found = await lstat(dir, { bigint: true }).catch((error: unknown) => {
      if (errnoCode(error) === 'ENOENT') return undefined;
      throw StowageError.wrap(error, `cannot look at ${dir}`);
    });
    if (found && isNoted(found, claim)) await this.ctx.ops.rename(dir, this.path('doomed', claim.token, claim.name));
  }

  private async hold(holding: Holding, isPublished: IsPublished): Promise<Holding> {
    const key = this.heldKey(holding.claim.name);
    this.ctx.held.add(key);
    try {
      for (const dead of holding.inherited) await this.recover(dead, isPublished);
    } catch (error) {
      // The lock stays taken with the dead claims in its chain, so the next operation on the name tries again.
      this.ctx.held.delete(key);
      throw StowageError.wrap(
        error,
        `cannot finish or undo an interrupted operation on volume "${holding.claim.name}"`,
      );
    }
    const live = new Set([...holding.inherited, holding.claim].map((claim) => claim.token));
    await this.sweep(holding.claim.name, live).catch((error: unknown) =>
      this.ctx.logger.warn(
        { volume: holding.claim.name, err: (error as Error).message },
        'could not sweep stale lock files',
      ),
    );
    return holding;
  }

  /**
   * Lock files of `name` that no lock refers to (`live`: the tokens of its chain): steal files a release did not
   * get to, claims of crashed waiters.
   */
  private async sweep(name: string, live: ReadonlySet<string>): Promise<void> {
    for (const entry of await this.entries()) {
      const parsed = parseEntry(entry);
      if (!parsed || parsed.name !== name || live.has(parsed.token)) continue;
      const file = join(this.work, entry);
      if (parsed.kind === 'steal') {
        await unlinkIfThere(this.ctx.ops, file);
      } else if (parsed.kind === 'claim') {
        const claim = await this.readClaim(file);
        // A live waiter's claim stays; it writes it again if it goes anyway.
        if (claim === undefined || this.abandoned(claim)) await unlinkIfThere(this.ctx.ops, file);
      }
    }
  }

  private async release(holding: Holding): Promise<void> {
    const { ops } = this.ctx;
    const [lockFile, ...steals] = holding.links as [string, ...string[]];
    const head = (await this.readChain(holding.claim.name))[0];
    const first = holding.inherited[0] ?? holding.claim;
    // Only if the lock is still the one this holder's chain starts from.
    if (head?.token === first.token) await unlinkIfThere(ops, lockFile);
    for (const steal of steals) await unlinkIfThere(ops, steal);
    await this.tidy();
  }

  /** An idle file system keeps no work area (an access point file system none of `/.stowage` at all). */
  private async tidy(): Promise<void> {
    for (const dir of [this.work, this.meta]) {
      try {
        await this.ctx.ops.rmdir(dir);
      } catch (error) {
        // Gone already is as good; not empty (an operation under way, records) ends it.
        if (errnoCode(error) !== 'ENOENT') return;
      }
    }
  }

  /** The lock's claim, then each claim that took it over in turn. Empty when nobody holds the name. */
  private async readChain(name: string): Promise<NameClaim[]> {
    const chain: NameClaim[] = [];
    let file = this.lockFile(name);
    for (;;) {
      const claim = await this.readClaim(file);
      if (!claim) return chain;
      if (claim.name !== name || chain.some((earlier) => earlier.token === claim.token)) {
        throw StowageError.backendFailure(`lock file ${file} is not part of a lock of volume "${name}"; delete it`);
      }
      chain.push(claim);
      file = this.path('steal', claim.token, name);
    }
  }

  private async readClaim(file: string): Promise<NameClaim | undefined> {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') return undefined;
      throw StowageError.wrap(error, `cannot read lock file ${file}`);
    }
    const claim = parseClaim(text);
    if (!claim) {
      throw StowageError.backendFailure(
        `lock file ${file} is not a Stowage claim; delete it if no create or remove of that volume is running`,
      );
    }
    return claim;
  }

  private abandoned(claim: NameClaim): boolean {
    if (claim.node === this.ctx.node) {
      // This node's: a previous run's is a crash's; this run's is live while this run holds it.
      return claim.run !== this.ctx.run || !this.ctx.held.has(this.heldKey(claim.name));
    }
    return this.ctx.now() - claim.since > this.ctx.timing.leaseMs;
  }

  private async writeClaim(file: string, claim: NameClaim): Promise<void> {
    const { ops } = this.ctx;
    // A few rounds: an idle work area is removed by whoever releases last, possibly right after this made it.
    for (let round = 0; ; round += 1) {
      try {
        await ops.writeNewFile(file, `${JSON.stringify(claim)}\n`);
        return;
      } catch (error) {
        if (errnoCode(error) === 'EEXIST') return;
        if (errnoCode(error) !== 'ENOENT' || round === 5)
          throw StowageError.wrap(error, `cannot write lock file ${file}`);
      }
      for (const dir of [this.meta, this.work]) {
        await ops.mkdir(dir, dir === this.work ? 0o700 : 0o755).catch((error: unknown) => {
          if (errnoCode(error) !== 'EEXIST') throw StowageError.wrap(error, `cannot create ${dir}`);
        });
      }
    }
  }

  private async entries(): Promise<string[]> {
    try {
      return await readdir(this.work);
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') return [];
      throw StowageError.wrap(error, `cannot read ${this.work}`);
    }
  }

  private heldKey(name: string): string {
    return `${this.root}\0${name}`;
  }
}

/** Whether `found` is the directory `claim` noted: same inode, and same birth where both know one. */
function isNoted(found: DirectoryIdentity, claim: NameClaim): boolean {
  if (found.ino.toString() !== claim.ino) return false;
  return claim.born === undefined || found.birthtimeNs === 0n || found.birthtimeNs.toString() === claim.born;
}

async function unlinkIfThere(ops: FileOperations, file: string): Promise<void> {
  await ops.unlink(file).catch((error: unknown) => {
    if (errnoCode(error) !== 'ENOENT') throw error;
  });
}

function sameTokens(a: readonly NameClaim[], b: readonly NameClaim[]): boolean {
  return a.length === b.length && a.every((claim, i) => claim.token === b[i]?.token);
}

/** `<kind>.<token>.<name>`, or undefined for an entry Stowage's work area would not hold. */
function parseEntry(entry: string): { kind: Kind; token: string; name: string } | undefined {
  const [kind = '', token = ''] = entry.split('.', 2);
  if (!KINDS.includes(kind as Kind) || !TOKEN.test(token)) return undefined;
  return { kind: kind as Kind, token, name: entry.slice(kind.length + token.length + 2) };
}

/** A claim file's text, checked field by field (it is read from a shared file system). */
function parseClaim(text: string): NameClaim | undefined {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return undefined;
  const { name, op, token, node, run, since, ino, born } = data as Record<string, unknown>;
  if (typeof name !== 'string' || typeof token !== 'string' || !TOKEN.test(token)) return undefined;
  if (op !== 'create' && op !== 'remove' && op !== 'recover') return undefined;
  if (typeof node !== 'string' || typeof run !== 'string' || typeof since !== 'number' || !Number.isFinite(since))
    return undefined;
  for (const number of [ino, born])
    if (number !== undefined && (typeof number !== 'string' || !/^\d+$/.test(number))) return undefined;
  return {
    name,
    op,
    token,
    node,
    run,
    since,
    ...(typeof ino === 'string' ? { ino } : {}),
    ...(typeof born === 'string' ? { born } : {}),
  };
}
