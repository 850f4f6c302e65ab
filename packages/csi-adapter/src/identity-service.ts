import type { GetPluginCapabilitiesResponse } from './generated/csi/v1/GetPluginCapabilitiesResponse.js';
import type { GetPluginInfoResponse } from './generated/csi/v1/GetPluginInfoResponse.js';
import type { ProbeResponse } from './generated/csi/v1/ProbeResponse.js';
import type { BackingReadiness } from '@stowage/core';
import type { CallContext } from './call-budget.js';
import { CsiError } from './csi-error.js';
import { type CsiMode, servesController } from './csi-mode.js';

/** The longest a Probe waits for the backings' checks: a CO probes often, and with a short deadline of its own. */
export const PROBE_BUDGET_MS = 4_000;

/** What the Identity service tells a CO about this plugin. */
export interface IdentitySettings {
  /** Domain-style plugin name (`stowage.local`). */
  readonly name: string;
  /** The package's version. */
  readonly version: string;
  readonly mode: CsiMode;
  /** Whether a backing places volumes by topology (a zone, a region): VOLUME_ACCESSIBILITY_CONSTRAINTS. */
  readonly topology: boolean;
}

/**
 * The Identity service: the plugin's name and version, and which services it offers. VOLUME_ACCESSIBILITY_CONSTRAINTS
 * only with a backing that places its volumes (EBS: region and zone); the local backing is bound to its node by being
 * local, and Swarm ignores topology anyway (swarmkit #3270).
 */
export class IdentityService {
  constructor(
    private readonly settings: IdentitySettings,
    /** The engine's `readiness`: each backing's check within a budget, never throwing. */
    private readonly readiness: (budgetMs: number) => Promise<readonly BackingReadiness[]>,
  ) {}

  async getPluginInfo(): Promise<GetPluginInfoResponse> {
    return { name: this.settings.name, vendor_version: this.settings.version };
  }

  async getPluginCapabilities(): Promise<GetPluginCapabilitiesResponse> {
    const capabilities: GetPluginCapabilitiesResponse['capabilities'] = [];
    if (servesController(this.settings.mode)) capabilities.push({ service: { type: 'CONTROLLER_SERVICE' } });
    if (this.settings.topology) capabilities.push({ service: { type: 'VOLUME_ACCESSIBILITY_CONSTRAINTS' } });
    return { capabilities };
  }

  /**
   * The backings' own readiness checks (`StorageProvider.checkReady`, as the HTTP ops endpoint's `/readyz` runs them:
   * rate-limited by each backing, a hung one not started again), within the call's budget and at most
   * {@link PROBE_BUDGET_MS}. Never `ready: false`: that means "still initializing", and the server listens only once
   * the engine has started. A backing that cannot serve is the spec's "plugin not healthy", FAILED_PRECONDITION,
   * naming it and why, so the CO's probe (Kubernetes' livenessprobe) reports the reason.
   */
  async probe(context?: CallContext): Promise<ProbeResponse> {
    const budgetMs = Math.max(1, Math.min(context?.budgetMs ?? PROBE_BUDGET_MS, PROBE_BUDGET_MS));
    const unready = (await this.readiness(budgetMs)).filter((backing) => !backing.ready);
    if (unready.length > 0) {
      const problems = unready.map((b) => `${b.name}: ${b.problem ?? 'not ready'}`).join('; ');
      throw CsiError.failedPrecondition(`not ready: ${problems}`);
    }
    return { ready: { value: true } };
  }
}
