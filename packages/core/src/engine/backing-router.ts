import type { ProviderVolume, StorageProvider } from '../contract/storage-provider.js';
import { StowageError } from '../errors/stowage-error.js';
import type { BackingSummary } from './volume.js';

// With no default configured, prefer what Cloudstor did: shared where EFS is set up, else relocatable, else local.
const DEFAULT_PREFERENCE = ['shared', 'relocatable', 'local'];

/** A volume found through the router: the provider that owns it and what that provider reported. */
export interface Located {
  readonly provider: StorageProvider;
  readonly volume: ProviderVolume;
}

/**
 * Knows the configured backings, which one a request selects, and which backing each known volume name belongs
 * to. The providers remain the source of truth: the name cache only saves asking every provider each time.
 */
export class BackingRouter {
  private readonly byName = new Map<string, StorageProvider>();
  private readonly defaultProvider: StorageProvider;
  private readonly owners = new Map<string, StorageProvider>();

  constructor(
    private readonly providers: readonly StorageProvider[],
    defaultBacking?: string,
  ) {
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
      const preferred = DEFAULT_PREFERENCE.map((n) => this.byName.get(n)).find((p) => p !== undefined);
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
   * Finds which backing holds `name`: the cached owner first, then every provider at once. Undefined only when
   * every provider answered that it does not exist; a provider that failed makes this throw instead.
   */
  async locate(name: string): Promise<Located | undefined> {
    const owner = this.owners.get(name);
    if (owner) {
      let volume: ProviderVolume | undefined;
      try {
        volume = await owner.inspect(name);
      } catch (error) {
        throw cannotTell(name, [lookupFailure(error)]);
      }
      if (volume) return { provider: owner, volume };
      this.owners.delete(name);
    }
    const answers = await Promise.allSettled(
      this.providers.filter((p) => p !== owner).map(async (provider) => ({ provider, volume: await provider.inspect(name) })),
    );
    const failures: string[] = [];
    for (const answer of answers) {
      if (answer.status === 'rejected') {
        failures.push(lookupFailure(answer.reason));
      } else if (answer.value.volume) {
        this.remember(name, answer.value.provider);
        return answer.value as Located;
      }
    }
    if (failures.length > 0) throw cannotTell(name, failures);
    return undefined;
  }

  /** The backing last seen holding `name`, without asking anyone. */
  cachedOwner(name: string): StorageProvider | undefined {
    return this.owners.get(name);
  }

  remember(name: string, provider: StorageProvider): void {
    this.owners.set(name, provider);
  }

  forget(name: string): void {
    this.owners.delete(name);
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

function lookupFailure(reason: unknown): string {
  return StowageError.wrap(reason, 'lookup failed').message;
}

function cannotTell(name: string, failures: readonly string[]): StowageError {
  return StowageError.backendFailure(`cannot tell whether volume "${name}" exists: ${failures.join('; ')}`);
}
