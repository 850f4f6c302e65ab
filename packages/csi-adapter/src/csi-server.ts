import { Server, ServerCredentials, type UntypedServiceImplementation } from '@grpc/grpc-js';
import type { HostOperations, Logger, VolumeEngine } from '@stowage/core';
import { getCapacity } from './available-capacity.js';
import { ControllerService } from './controller-service.js';
import { csiProto } from './csi-proto.js';
import { type CsiMode, servesController, servesNode } from './csi-mode.js';
import { IdentityService } from './identity-service.js';
import { NodeService } from './node-service.js';
import { OperationsInFlight } from './operations-in-flight.js';
import { type CsiRequestObserver, observingInterceptor } from './request-observer.js';
import { validatePluginName } from './plugin-name.js';
import { hasTopology } from './topology.js';
import { unaryHandler } from './unary-handler.js';

/** What {@link startCsiServer} serves, and where. */
export interface CsiServerOptions {
  /** A started engine. */
  readonly engine: VolumeEngine;
  /** The host operations the publish bind mounts go through (the engine's own, `engine.host`, by default). */
  readonly host?: HostOperations;
  /** The unix socket to listen on; a stale one must have been removed (the CLI claims the path first). */
  readonly socket: string;
  readonly mode: CsiMode;
  /** GetPluginInfo's name, domain-style (`stowage.local`). */
  readonly pluginName: string;
  /** GetPluginInfo's vendor_version. */
  readonly version: string;
  /** NodeGetInfo's node_id when the operator sets one; else a backing's (the EC2 instance id), else the hostname. */
  readonly nodeId?: string;
  readonly logger: Logger;
  /** Told of every call answered (method, status code, seconds), e.g. `CsiRequestMetrics.observe`. */
  readonly observe?: CsiRequestObserver;
}

/** A listening CSI plugin. */
export interface CsiServer {
  /**
   * Stops taking calls, lets the ones under way finish, waits for operations gone on in the background (an attach
   * past its call's budget), and closes the socket. The engine stays the caller's.
   */
  close(): Promise<void>;
}

/**
 * Serves the CSI Identity service and, per `mode`, the Controller and Node services over gRPC on a unix socket.
 * Methods left out (snapshots, expansion, staging) answer UNIMPLEMENTED, which the spec and COs take as "not
 * supported" since no capability advertises them.
 */
export async function startCsiServer(options: CsiServerOptions): Promise<CsiServer> {
  const { engine, logger, mode } = options;
  const proto = csiProto().csi.v1;
  const inFlight = new OperationsInFlight();
  const server = new Server(options.observe ? { interceptors: [observingInterceptor(options.observe)] } : {});

  const identity = new IdentityService(
    {
      name: validatePluginName(options.pluginName),
      version: options.version,
      mode,
      topology: hasTopology(engine.nodeFacts()),
    },
    (budgetMs) => engine.readiness(budgetMs),
  );
  server.addService(proto.Identity.service, {
    GetPluginInfo: unaryHandler('GetPluginInfo', logger, () => identity.getPluginInfo()),
    GetPluginCapabilities: unaryHandler('GetPluginCapabilities', logger, () => identity.getPluginCapabilities()),
    Probe: unaryHandler('Probe', logger, (_request, context) => identity.probe(context)),
  } satisfies UntypedServiceImplementation);

  if (servesController(mode)) {
    const controller = new ControllerService(engine, inFlight);
    server.addService(proto.Controller.service, {
      ControllerGetCapabilities: unaryHandler('ControllerGetCapabilities', logger, () => controller.getCapabilities()),
      CreateVolume: unaryHandler('CreateVolume', logger, (r, c) => controller.createVolume(r, c)),
      DeleteVolume: unaryHandler('DeleteVolume', logger, (r, c) => controller.deleteVolume(r, c)),
      ValidateVolumeCapabilities: unaryHandler('ValidateVolumeCapabilities', logger, (r) =>
        controller.validateVolumeCapabilities(r),
      ),
      ListVolumes: unaryHandler('ListVolumes', logger, (r) => controller.listVolumes(r)),
      GetCapacity: unaryHandler('GetCapacity', logger, (r) => getCapacity(engine, r)),
    });
  }

  if (servesNode(mode)) {
    const settings = options.nodeId === undefined ? {} : { nodeId: options.nodeId };
    const node = new NodeService(engine, options.host ?? engine.host, inFlight, settings, logger);
    server.addService(proto.Node.service, {
      NodeGetInfo: unaryHandler('NodeGetInfo', logger, () => node.getInfo()),
      NodeGetCapabilities: unaryHandler('NodeGetCapabilities', logger, () => node.getCapabilities()),
      NodePublishVolume: unaryHandler('NodePublishVolume', logger, (r, c) => node.publishVolume(r, c)),
      NodeUnpublishVolume: unaryHandler('NodeUnpublishVolume', logger, (r, c) => node.unpublishVolume(r, c)),
      NodeGetVolumeStats: unaryHandler('NodeGetVolumeStats', logger, (r) => node.getVolumeStats(r)),
    });
  }

  await new Promise<void>((resolve, reject) => {
    server.bindAsync(`unix://${options.socket}`, ServerCredentials.createInsecure(), (error) =>
      error ? reject(error) : resolve(),
    );
  });
  return {
    close: async () => {
      await new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve());
      });
      await inFlight.settled();
    },
  };
}
