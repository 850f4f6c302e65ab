import type { CreateRequest, MountResult, ProviderVolume, StorageProvider, VolumeHandle } from '@stowage/core';

/** The provider calls a {@link Chaos} plan can fail or hold. */
export type ProviderCall = 'create' | 'remove' | 'inspect' | 'list' | 'mount' | 'unmount';

interface Gate {
  readonly call: ProviderCall;
  readonly opened: Promise<void>;
  open(): void;
  reached(): void;
  finished(): void;
}

/** A held call, as the test sees it. */
export interface HeldCall {
  /** Resolves once the call waits at the gate. */
  readonly reached: Promise<void>;
  /** Resolves once the call, let through, has returned (or thrown). */
  readonly finished: Promise<void>;
  open(): void;
}

/**
 * What the test does to the providers of every plugin start: fail one call, hold one call at a gate, and, when a
 * plugin "dies", freeze its providers, so that a dead plugin changes nothing more in the backend (as after a
 * `kill -9`, only what was already under way completes).
 */
export class Chaos {
  /** Every call made, in order, as `<generation>:<call>`. */
  readonly calls: string[] = [];
  private failure: { call: ProviderCall; error: Error } | undefined;
  private gate: Gate | undefined;
  private readonly dead = new Set<number>();
  /** Whether the armed failure was used by a call. */
  failureUsed = false;

  failNext(call: ProviderCall, error: Error): void {
    this.failure = { call, error };
    this.failureUsed = false;
  }

  holdNext(call: ProviderCall): HeldCall {
    let open = () => undefined as void;
    let reached = () => undefined as void;
    let finished = () => undefined as void;
    const opened = new Promise<void>((resolve) => (open = resolve));
    const wasReached = new Promise<void>((resolve) => (reached = resolve));
    const wasFinished = new Promise<void>((resolve) => (finished = resolve));
    this.gate = { call, opened, open, reached, finished };
    return { reached: wasReached, finished: wasFinished, open };
  }

  /** Disarms whatever the last operation did not use. */
  clear(): void {
    this.failure = undefined;
    this.gate?.open();
    this.gate = undefined;
  }

  kill(generation: number): void {
    this.dead.add(generation);
  }

  /** Runs `work` as call `call` of the providers of `generation`. */
  async run<T>(generation: number, call: ProviderCall, work: () => Promise<T>): Promise<T> {
    if (this.dead.has(generation)) return new Promise<T>(() => undefined);
    this.calls.push(`${generation}:${call}`);
    const gate = this.gate?.call === call ? this.gate : undefined;
    if (gate) {
      this.gate = undefined;
      gate.reached();
      await gate.opened;
      if (this.dead.has(generation)) return new Promise<T>(() => undefined);
    }
    try {
      const failure = this.failure?.call === call ? this.failure : undefined;
      if (failure) {
        this.failure = undefined;
        this.failureUsed = true;
        throw failure.error;
      }
      return await work();
    } finally {
      gate?.finished();
    }
  }
}

/** A provider of one plugin start, through a {@link Chaos} plan. */
export class ChaosProvider implements StorageProvider {
  readonly name: string;
  readonly aliases: StorageProvider['aliases'];
  readonly scope: StorageProvider['scope'];
  readonly options: StorageProvider['options'];
  readonly capabilities: StorageProvider['capabilities'];

  constructor(
    private readonly inner: StorageProvider,
    private readonly chaos: Chaos,
    private readonly generation: number,
  ) {
    this.name = inner.name;
    this.aliases = inner.aliases;
    this.scope = inner.scope;
    this.options = inner.options;
    // The engine writes what a Mount of a backing that mounts in place does differently: the model must see it so.
    this.capabilities = inner.capabilities;
  }

  validate(request: CreateRequest): void {
    this.inner.validate?.(request);
  }

  async init(): Promise<void> {
    await this.inner.init?.();
  }

  create(request: CreateRequest): Promise<ProviderVolume> {
    return this.chaos.run(this.generation, 'create', () => this.inner.create(request));
  }

  remove(volume: VolumeHandle): Promise<void> {
    return this.chaos.run(this.generation, 'remove', () => this.inner.remove(volume));
  }

  inspect(name: string): Promise<ProviderVolume | undefined> {
    return this.chaos.run(this.generation, 'inspect', () => this.inner.inspect(name));
  }

  list(): Promise<ProviderVolume[]> {
    return this.chaos.run(this.generation, 'list', () => this.inner.list());
  }

  mount(volume: VolumeHandle): Promise<MountResult> {
    return this.chaos.run(this.generation, 'mount', () => this.inner.mount(volume));
  }

  unmount(volume: VolumeHandle): Promise<void> {
    return this.chaos.run(this.generation, 'unmount', () => this.inner.unmount(volume));
  }

  async reconcile(held: ReadonlySet<string>): Promise<void> {
    await this.inner.reconcile?.(held);
  }

  async close(): Promise<void> {
    await this.inner.close?.();
  }
}
