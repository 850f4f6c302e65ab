import type { ProviderVolume, StorageProvider } from '../contract/storage-provider.js';
import { StowageError } from '../errors/stowage-error.js';
import type { OwnerCatalogue } from './volume-catalogue.js';
import type { BackingReadiness, BackingSummary } from './volume.js';
import { withinBudget } from './within-budget.js';

/** A volume found through the router: the provider that owns it and what that provider reported. */
export interface Located {
  readonly provider: StorageProvider;
  readonly volume: ProviderVolume;
}

/** How a {@link BackingRouter} finds volumes. */
export interface RouterOptions {
  /** Which backing holds each known name; in memory, and empty, when not given. */
  readonly catalogue?: OwnerCatalogue;
  /** How long one backing may take to answer whether it has a volume (default {@link DEFAULT_LOOKUP_TIMEOUT_MS}). */
  readonly lookupTimeoutMs?: number;
  /** Told of a catalogue write that failed where nobody waits for it (a name learned by a lookup or a list). */
  readonly onCatalogueError?: (error: unknown) => void;
  /**
   * With no default backing configured: backing names (or aliases) in order of preference, the first one enabled
   * being the default; the first provider when none is (or none is given). The adapter's policy, not the engine's.
   */
  readonly preference?: readonly string[];
}

/** How a lookup may treat the catalogue. */
export interface LocateOptions {
  /**
   * The caller holds the name's lock, so no create of the name runs meanwhile: an entry whose backing no longer has
   * the volume may then be dropped even for a `local`-scope backing. Without the lock, such an entry may be the one
   * a create wrote ahead of its backing's create, and dropping it would hide the volume that create makes.
   */
  readonly exclusive?: boolean;
}

/**
 * Backings are asked with this budget each: a hung backend (an NFS server that stopped answering) then fails the
 * lookups of names it may hold within seconds, well inside Docker's own deadlines, and never those of other backings.
 */
export const DEFAULT_LOOKUP_TIMEOUT_MS = 10_000;

/**
 * Knows the configured backings, which one a request selects, and which backing each volume name belongs to: the
 * catalogue names it, and only that backing is asked. A name the catalogue does not know is asked of the backings
 * that may hold volumes it never saw: `global`-scope ones (another node may have created it) and `local`-scope ones
 * whose volumes were not all put in the catalogue yet. The backings stay the source of truth for whether a volume
 * exists; the catalogue only says whom to ask.
 */
export class BackingRouter {
  private readonly byName = new Map<string, StorageProvider>();
  /** Backings `list` answered whole since start-up. */
  private readonly listedWhole = new Set<string>();
  private readonly defaultProvider: StorageProvider;
  private readonly catalogue: OwnerCatalogue;
  private readonly lookupTimeoutMs: number;
  private readonly onCatalogueError: (error: unknown) => void;
  /** Readiness checks under way, by provider: see {@link readiness}. */
  private readonly readyChecks = new Map<StorageProvider, Promise<void>>();

  constructor(
    private readonly providers: readonly StorageProvider[],
    defaultBacking?: string,
    options: RouterOptions = {},
  ) {
    this.catalogue = options.catalogue ?? new MemoryCatalogue();
    this.lookupTimeoutMs = options.lookupTimeoutMs ?? DEFAULT_LOOKUP_TIMEOUT_MS;
    this.onCatalogueError = options.onCatalogueError ?? (() => undefined);
    if (providers.length === 0) {
      throw StowageError.invalidArgument('no backing is enabled: configure at least one driver');
    }
    for (const provider of providers) {
      for (const name of [provider.name, ...(provider.aliases ?? [])]) {
        const taken = this.byName.get(name);
        if (taken) {
          throw StowageError.invalidArgument(
            `backing name "${name}" is claimed by two providers (${taken.name} and ${provider.name}); enable only one`,
          );
        }
        this.byName.set(name, provider);
      }
    }
    if (defaultBacking !== undefined) {
      const chosen = this.byName.get(defaultBacking);
      if (!chosen) {
        throw StowageError.invalidArgument(
          `default backing "${defaultBacking}" is not enabled; enabled backings: ${this.knownNames()}`,
        );
      }
      this.defaultProvider = chosen;
    } else {
      const preferred = (options.preference ?? []).map((n) => this.byName.get(n)).find((p) => p !== undefined);
      this.defaultProvider = preferred ?? (providers[0] as StorageProvider);
    }
  }

  all(): readonly StorageProvider[] {
    return this.providers;
  }

  byBacking(name: string): StorageProvider | undefined {
    return this.byName.get(name);
  }

  /** The provider a create request selects: its `backing` option, or the default. */
  select(backing: string | undefined): StorageProvider {
    if (backing === undefined || backing === '') return this.defaultProvider;
    const provider = this.byName.get(backing);
    if (!provider) {
      throw StowageError.invalidArgument(
        `backing: unknown backing ${JSON.stringify(backing)}; must be one of ${this.knownNames()}`,
      );
    }
    return provider;
  }

  /**
   * Finds which backing holds `name`: the one the catalogue names, else (or when that one no longer has it) every
   * backing that may hold a name the catalogue does not know, at once. Undefined only when each of those answered
   * that it does not exist; one that failed, or gave no answer within the lookup budget, makes this throw instead.
   */
  async locate(name: string, options: LocateOptions = {}): Promise<Located | undefined> {
    const owner = this.cachedOwner(name);
    if (owner) {
      const volume = await this.ask(owner, name).catch((failure: Error) => {
        throw cannotTell(name, [failure]);
      });
      if (volume) return { provider: owner, volume };
      // Removed by another node, or a create a crash cut short: the name may now be another backing's.
      if (owner.scope === 'global' || options.exclusive === true) void this.forget(name);
    }
    const candidates = this.providers.filter(
      (p) => p !== owner && (p.scope === 'global' || !this.catalogue.isFilled(p.name)),
    );
    return this.askEach(name, candidates);
  }

  /** The backing the catalogue names for `name`, without asking anyone. */
  cachedOwner(name: string): StorageProvider | undefined {
    const backing = this.catalogue.owner(name);
    return backing === undefined ? undefined : this.byName.get(backing);
  }

  /** Notes that `provider` holds `name` (seen by a lookup or a list); nobody waits for the write. */
  remember(name: string, provider: StorageProvider): void {
    if (this.catalogue.owner(name) !== provider.name)
      this.catalogue.set(name, provider.name).catch(this.onCatalogueError);
  }

  /**
   * Takes in what `provider` listed, all its volumes: each is noted as its. An entry naming a `global` backing for a
   * name it did not list is of a volume another node removed, and is dropped so the catalogue does not grow with
   * them. Not for a `local` backing: a create on this node writes its entry before the backend has the volume, which
   * a list running meanwhile does not show, and a `local` volume without its entry would be lost to lookups (a
   * `global` one is found again by asking).
   */
  listed(provider: StorageProvider, volumes: readonly ProviderVolume[]): void {
    for (const volume of volumes) this.remember(volume.name, provider);
    this.listedWhole.add(provider.name);
    if (provider.scope !== 'global') return;
    const names = new Set(volumes.map((volume) => volume.name));
    for (const [name, backing] of this.catalogue.entries()) {
      if (backing === provider.name && !names.has(name)) void this.forget(name);
    }
  }

  /** Whether `backing` was listed whole by this process: the catalogue then has its names as of that list. */
  wasListed(backing: string): boolean {
    return this.listedWhole.has(backing);
  }

  /** Forgets `name`; resolves, even when the write fails, once the catalogue is done with it. */
  async forget(name: string): Promise<void> {
    await this.catalogue.delete(name).catch(this.onCatalogueError);
  }

  /** Asks every one of `providers` at once; the first that has the volume answers, without waiting for the rest. */
  private askEach(name: string, providers: readonly StorageProvider[]): Promise<Located | undefined> {
    return new Promise((resolve, reject) => {
      const failures: Error[] = [];
      let waiting = providers.length;
      let found = false;
      const settle = () => {
        if (--waiting > 0 || found) return;
        if (failures.length > 0) reject(cannotTell(name, failures));
        else resolve(undefined);
      };
      if (waiting === 0) resolve(undefined);
      for (const provider of providers) {
        this.ask(provider, name).then(
          (volume) => {
            if (volume && !found) {
              found = true;
              this.remember(name, provider);
              resolve({ provider, volume });
            }
            settle();
          },
          (failure: Error) => {
            failures.push(failure);
            settle();
          },
        );
      }
    });
  }

  /** The provider's inspect, within the lookup budget; a failure rejects with an error naming the backing. */
  private ask(provider: StorageProvider, name: string): Promise<ProviderVolume | undefined> {
    const answer = Promise.resolve()
      .then(() => provider.inspect(name))
      .catch((error: unknown) => {
        throw StowageError.backendFailure(
          `backing ${provider.name}: ${StowageError.wrap(error, 'lookup failed').message}`,
          error,
        );
      });
    return withinBudget(answer, this.lookupTimeoutMs, `backing ${provider.name} gave no answer`);
  }

  /**
   * Each backing's {@link StorageProvider.checkReady} check, all at once, each within `budgetMs`. A backing without the
   * check is ready as long as it is enabled (it started). A check still running from an earlier call is waited for
   * rather than started again, so a hung backend probed every few seconds does not pile up calls.
   */
  async readiness(budgetMs: number): Promise<BackingReadiness[]> {
    return Promise.all(
      this.providers.map(async (provider): Promise<BackingReadiness> => {
        if (!provider.checkReady) return { name: provider.name, ready: true };
        let check = this.readyChecks.get(provider);
        if (!check) {
          check = Promise.resolve()
            .then(() => provider.checkReady?.())
            .finally(() => this.readyChecks.delete(provider));
          this.readyChecks.set(provider, check);
        }
        try {
          await withinBudget(check, budgetMs, `backing ${provider.name} gave no answer to its readiness check`);
          return { name: provider.name, ready: true };
        } catch (error) {
          return {
            name: provider.name,
            ready: false,
            problem: StowageError.wrap(error, `backing ${provider.name} is not ready`).message,
          };
        }
      }),
    );
  }

  summaries(): BackingSummary[] {
    return this.providers.map((p) => ({
      name: p.name,
      aliases: [...(p.aliases ?? [])],
      scope: p.scope,
      isDefault: p === this.defaultProvider,
    }));
  }

  private knownNames(): string {
    return [...this.byName.keys()].join(', ');
  }
}

function cannotTell(name: string, failures: readonly Error[]): StowageError {
  const reasons = failures.map((failure) => failure.message).join('; ');
  return StowageError.backendFailure(`cannot tell whether volume "${name}" exists: ${reasons}`, failures[0]);
}

/** A catalogue that lives as long as the router: for routers built without one (tests, tools). */
class MemoryCatalogue implements OwnerCatalogue {
  private readonly owners = new Map<string, string>();
  owner(name: string): string | undefined {
    return this.owners.get(name);
  }
  isFilled(): boolean {
    return false;
  }
  async set(name: string, backing: string): Promise<void> {
    this.owners.set(name, backing);
  }
  async delete(name: string): Promise<void> {
    this.owners.delete(name);
  }
  entries(): Iterable<[string, string]> {
    return this.owners;
  }
}
