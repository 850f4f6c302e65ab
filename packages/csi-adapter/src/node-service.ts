import { isAbsolute } from 'node:path';
import { type HostOperations, isVolumeName, type Logger, StowageError, type VolumeEngine } from '@stowage/core';
import type { NodeGetCapabilitiesResponse } from './generated/csi/v1/NodeGetCapabilitiesResponse.js';
import type { NodeGetInfoResponse } from './generated/csi/v1/NodeGetInfoResponse.js';
import type { NodeGetVolumeStatsRequest__Output } from './generated/csi/v1/NodeGetVolumeStatsRequest.js';
import type { NodeGetVolumeStatsResponse } from './generated/csi/v1/NodeGetVolumeStatsResponse.js';
import type { NodePublishVolumeRequest__Output } from './generated/csi/v1/NodePublishVolumeRequest.js';
import type { NodePublishVolumeResponse } from './generated/csi/v1/NodePublishVolumeResponse.js';
import type { NodeUnpublishVolumeRequest__Output } from './generated/csi/v1/NodeUnpublishVolumeRequest.js';
import type { NodeUnpublishVolumeResponse } from './generated/csi/v1/NodeUnpublishVolumeResponse.js';
import { accessProfile, isReaderOnly, unsupportedReason } from './access-profile.js';
import { CsiError } from './csi-error.js';
import { csiFailpoint } from './csi-failpoints.js';
import type { OperationsInFlight } from './operations-in-flight.js';
import { publishCaller } from './publish-caller.js';
import { requireAbsolutePath, requireCapability, requireString } from './request-fields.js';
import { isReadOnlyMount, mountAt, removeTarget } from './target-path.js';
import { nodeFactsOf, nodeInfo } from './node-info.js';
import type { CallContext } from './call-budget.js';
import { backingSummary, findVolume, requireVolume } from './volume-lookup.js';
import { volumeUsage } from './volume-usage.js';

/** What the Node service needs besides the engine. */
export interface NodeSettings {
  /** This node's id for the CO when the operator sets one; else a backing's (the EC2 instance id) or the hostname. */
  readonly nodeId?: string;
}

// A mount flag goes into `mount -o` as one item: a comma would smuggle in more options than the CO asked for.
const MOUNT_FLAG = /^[a-zA-Z0-9_=.:+/-]+$/;

/**
 * The Node service: a volume published at a CO's target path is the engine's mount of it (counted for a caller named
 * after the target) bind-mounted there. Nothing is staged: the engine mounts per node already, and Swarm never sends
 * NodeUnstageVolume (swarmkit #3178), so a staged mount would outlive its last user. What is published is read back
 * from the kernel's mount table and the engine's journal, so a restarted plugin picks up where it was.
 */
export class NodeService {
  constructor(
    private readonly engine: VolumeEngine,
    private readonly host: HostOperations,
    private readonly inFlight: OperationsInFlight,
    private readonly settings: NodeSettings,
    private readonly logger: Logger,
  ) {}

  async getInfo(): Promise<NodeGetInfoResponse> {
    return nodeInfo(nodeFactsOf(this.engine), this.settings.nodeId);
  }

  async getCapabilities(): Promise<NodeGetCapabilitiesResponse> {
    return { capabilities: [{ rpc: { type: 'GET_VOLUME_STATS' } }] };
  }

  /** Usage of a volume where this plugin published it; NOT_FOUND for any other path (the spec's code for both). */
  async getVolumeStats(request: NodeGetVolumeStatsRequest__Output): Promise<NodeGetVolumeStatsResponse> {
    const id = requireString(request.volume_id, 'volume_id');
    const path = requireString(request.volume_path, 'volume_path');
    await requireVolume(this.engine, id);
    const published = isAbsolute(path) && this.holds(id, publishCaller(path)) && (await mountAt(this.host, path));
    if (!published) throw CsiError.notFound(`volume "${id}" is not published at ${path}`);
    return { usage: await volumeUsage(path) };
  }

  /**
   * Mounts the volume here through the engine (for EBS: attach, format if blank, mount, a move from another zone
   * first if needed) and binds it onto the target. Past the call's budget the publish goes on in the background and
   * the call answers ABORTED; the CO's retry of the same publish joins it.
   */
  async publishVolume(
    request: NodePublishVolumeRequest__Output,
    context?: CallContext,
  ): Promise<NodePublishVolumeResponse> {
    const id = requireString(request.volume_id, 'volume_id');
    const target = requireAbsolutePath(request.target_path, 'target_path');
    const capability = requireCapability(request.volume_capability, 'volume_capability');
    const flags = capability.mount?.mount_flags ?? [];
    const badFlag = flags.find((flag) => !MOUNT_FLAG.test(flag));
    if (badFlag !== undefined) {
      throw CsiError.invalidArgument(`volume_capability.mount.mount_flags: invalid flag ${JSON.stringify(badFlag)}`);
    }
    const readOnly = request.readonly || isReaderOnly(capability);
    const key = JSON.stringify(['publish', target, readOnly, flags]);
    return this.inFlight.run(
      id,
      async () => {
        const volume = await requireVolume(this.engine, id);
        const backing = backingSummary(this.engine, volume.backing);
        const reason = unsupportedReason(accessProfile(backing), capability, backing.name);
        if (reason) throw CsiError.invalidArgument(`volume_capability: ${reason}`);
        const caller = publishCaller(target);
        const held = this.holds(id, caller);
        const mounted = await mountAt(this.host, target);
        if (mounted) {
          if (!held) {
            throw CsiError.alreadyExists(`target_path ${target} is already a mount point, not of volume "${id}"`);
          }
          if (isReadOnlyMount(mounted) !== readOnly) {
            throw CsiError.alreadyExists(
              `volume "${id}" is published at ${target} ${readOnly ? 'read-write' : 'read-only'}; unpublish it first`,
            );
          }
          return {};
        }
        // Held but not mounted: a crash came between the engine's mount and the bind; the hold is reused, not doubled.
        const source = held ? await this.engine.path(id) : await this.engine.mount(id, caller);
        if (!source) throw StowageError.backendFailure(`volume "${id}" has no path on this node after mounting it`);
        csiFailpoint('csi:publish:after-hold');
        try {
          await this.host.mount(source, target, { options: ['bind', ...(readOnly ? ['ro'] : []), ...flags] });
        } catch (error) {
          if (!held) await this.release(id, caller);
          throw error;
        }
        csiFailpoint('csi:publish:after-bind');
        this.logger.info({ volume: id, target, readOnly }, 'volume published');
        return {};
      },
      { key, budgetMs: context?.budgetMs },
    );
  }

  /** Unbinds the target and releases the hold; the last release unmounts (for EBS: detaches). Joinable as publish is. */
  async unpublishVolume(
    request: NodeUnpublishVolumeRequest__Output,
    context?: CallContext,
  ): Promise<NodeUnpublishVolumeResponse> {
    const id = requireString(request.volume_id, 'volume_id');
    const target = requireAbsolutePath(request.target_path, 'target_path');
    const key = JSON.stringify(['unpublish', target]);
    return this.inFlight.run(
      id,
      async () => {
        const caller = publishCaller(target);
        const held = isVolumeName(id) && this.holds(id, caller);
        const mounted = await mountAt(this.host, target);
        if (mounted && !held) {
          throw CsiError.failedPrecondition(
            `target_path ${target} is a mount point this plugin did not make for volume "${id}"; left in place`,
          );
        }
        if (!mounted && !held && !(await findVolume(this.engine, id))) {
          throw CsiError.notFound(`volume "${id}" not found`);
        }
        // The bind first, the hold after: a crash in between leaves a hold the retried call releases.
        if (mounted) await this.host.unmount(target);
        csiFailpoint('csi:unpublish:after-unbind');
        await removeTarget(target, this.logger);
        if (held) await this.engine.unmount(id, caller);
        if (mounted || held) this.logger.info({ volume: id, target }, 'volume unpublished');
        return {};
      },
      { key, budgetMs: context?.budgetMs },
    );
  }

  /** Whether `caller` holds volume `id`, per the engine's journal. */
  private holds(id: string, caller: string): boolean {
    return this.engine.holds().some((held) => held.name === id && held.callers.some((c) => c.id === caller));
  }

  private async release(id: string, caller: string): Promise<void> {
    try {
      await this.engine.unmount(id, caller);
    } catch (error) {
      this.logger.error(
        { volume: id, caller, err: (error as Error).message },
        'could not release the hold of a failed publish; it stays recorded until the target is unpublished',
      );
    }
  }
}
