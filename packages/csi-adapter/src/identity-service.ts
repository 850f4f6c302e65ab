import type { GetPluginCapabilitiesResponse } from './generated/csi/v1/GetPluginCapabilitiesResponse.js';
import type { GetPluginInfoResponse } from './generated/csi/v1/GetPluginInfoResponse.js';
import type { ProbeResponse } from './generated/csi/v1/ProbeResponse.js';
import { type CsiMode, servesController } from './csi-mode.js';

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
  constructor(private readonly settings: IdentitySettings) {}

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
   * Ready as soon as it answers: the server listens only once the engine has started, and starting checked every
   * backing (`init`) and reconciled this node's mounts; a per-call backend round trip would make Probe as slow as the
   * slowest backing, and a CO probes often.
   */
  async probe(): Promise<ProbeResponse> {
    return { ready: { value: true } };
  }
}
