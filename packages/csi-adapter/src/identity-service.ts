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
}

/**
 * The Identity service: the plugin's name and version, and which services it offers. No topology yet
 * (VOLUME_ACCESSIBILITY_CONSTRAINTS): the local backing is bound to its node by being local, and Swarm ignores
 * topology anyway (swarmkit #3270).
 */
export class IdentityService {
  constructor(private readonly settings: IdentitySettings) {}

  async getPluginInfo(): Promise<GetPluginInfoResponse> {
    return { name: this.settings.name, vendor_version: this.settings.version };
  }

  async getPluginCapabilities(): Promise<GetPluginCapabilitiesResponse> {
    return {
      capabilities: servesController(this.settings.mode) ? [{ service: { type: 'CONTROLLER_SERVICE' } }] : [],
    };
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
