import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DockerEngine,
  freePort,
  importBusyboxImage,
  mountsUnder,
  unmountAllUnder,
  waitUntil,
} from '@stowage/testkit/docker';
import { engineApi, engineApiOk } from './engine-api.js';
import { buildCsiPlugin, PLUGIN_VERSION } from './managed-plugin-build.js';
import { managedPluginPid } from './managed-plugin-process.js';
import { swarmEngineBinaries } from './swarm-engine-build.js';
import { TeardownSteps } from './teardown-steps.js';

const PLUGIN = `stowage-csi:${PLUGIN_VERSION}`;
const VOLUME = 'swarm-data';
const SERVICE = 'writer';
// Swarm asks as generously: every CSI call has 15 s, and the node agent retries one volume at a time with backoff.
const SWARM_WAIT = { timeoutMs: 180_000, intervalMs: 1_000 };

interface ClusterVolume {
  readonly Name: string;
  readonly ClusterVolume?: {
    readonly ID: string;
    readonly Info?: { readonly VolumeID?: string; readonly VolumeContext?: Record<string, string> };
    readonly PublishStatus?: ReadonlyArray<{ readonly NodeID: string; readonly State: string }>;
  };
}

interface SwarmService {
  readonly ID: string;
  readonly Version: { readonly Index: number };
  readonly Spec: {
    readonly Mode: { readonly Replicated?: { readonly Replicas: number } };
    readonly TaskTemplate: { readonly ForceUpdate?: number };
  } & Record<string, unknown>;
}

interface SwarmTask {
  readonly ID: string;
  readonly DesiredState: string;
  readonly Status: {
    readonly State: string;
    readonly Err?: string;
    readonly ContainerStatus?: { ContainerID?: string };
  };
}

// A Swarm cluster volume (Docker 23+, API 1.42) served by Stowage's CSI managed plugin (pnpm package:csi-plugin), on
// a dockerd and runc built by scripts/swarm-engine.sh: Debian's engine (20.10) has no cluster volumes, and its CLI
// none of their commands, so everything about them goes through the Engine API. The plugin runs in the engine's
// plugin container, its socket under that engine's exec root: nothing here competes for a machine-wide socket, and
// the swarm listens on a free port.
// Each step waits up to SWARM_WAIT at a time, some twice: the steps' own limit is above that, so a slow swarm fails
// with what a wait saw rather than a bare timeout.
describe('a Swarm cluster volume through the Stowage CSI managed plugin', { timeout: 600_000 }, () => {
  let engine: DockerEngine;
  let image: string;
  let buildDir: string;
  /** The host directory the plugin's `data` mount binds: its state and the local backing's volumes. */
  let dataDir: string;
  let pluginId: string;
  /** Swarm's id of the volume: the name of its published path, /data/published/<id> in the plugin. */
  let swarmVolumeId: string;
  const verified: string[] = [];

  const api = <T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown) =>
    engineApiOk<T>(engine, method, path, body);
  const volumeDataDir = () => join(dataDir, 'volumes', VOLUME);
  /** Where the engine keeps the plugin's /data/published on the host. */
  const propagatedMount = () => join(engine.dir, 'data', 'plugins', pluginId, 'propagated-mount');
  const publishedPath = () => join(propagatedMount(), swarmVolumeId);
  const runningTasks = async (): Promise<SwarmTask[]> => {
    const filters = encodeURIComponent(JSON.stringify({ service: [SERVICE], 'desired-state': ['running'] }));
    const tasks = await api<SwarmTask[]>('GET', `/tasks?filters=${filters}`);
    return tasks.filter((task) => task.Status.State === 'running' && task.Status.ContainerStatus?.ContainerID);
  };
  const describeTasks = async (): Promise<string> => {
    const filters = encodeURIComponent(JSON.stringify({ service: [SERVICE] }));
    const tasks = await api<SwarmTask[]>('GET', `/tasks?filters=${filters}`);
    return tasks
      .map((t) => `${t.ID} desired=${t.DesiredState} state=${t.Status.State} ${t.Status.Err ?? ''}`)
      .join('\n');
  };
  /** Waits until exactly `count` tasks run, none of them one of `replaced`, and returns their containers. */
  const waitForTasks = (count: number, replaced: readonly string[] = []): Promise<string[]> =>
    waitUntil(
      `${count} running tasks of ${SERVICE}${replaced.length > 0 ? ' that replace the earlier ones' : ''}`,
      async () => {
        const containers = (await runningTasks()).map((task) => task.Status.ContainerStatus?.ContainerID as string);
        const fresh = containers.filter((id) => !replaced.includes(id));
        return containers.length === count && fresh.length === count ? containers : undefined;
      },
      { ...SWARM_WAIT, describe: describeTasks },
    );
  const updateService = async (change: (spec: SwarmService['Spec']) => SwarmService['Spec']): Promise<void> => {
    const service = await api<SwarmService>('GET', `/services/${SERVICE}`);
    await api('POST', `/services/${service.ID}/update?version=${service.Version.Index}`, change(service.Spec));
  };
  /** A service of one task mounting the cluster volume at /data, running `script` once. */
  const createService = (script: string) =>
    api('POST', '/services/create', {
      Name: SERVICE,
      TaskTemplate: {
        ContainerSpec: {
          Image: image,
          Command: ['sh', '-c', `${script}; sleep 3600`],
          Mounts: [{ Type: 'cluster', Source: VOLUME, Target: '/data' }],
          // `sh` as PID 1 ignores SIGTERM: a short grace period keeps each replacement from waiting 10 s.
          StopGracePeriod: 1_000_000_000,
        },
      },
      Mode: { Replicated: { Replicas: 1 } },
    });
  /** Removes the service and waits until its containers are gone and the node has unpublished the volume. */
  const removeService = async (): Promise<void> => {
    const service = await api<SwarmService>('GET', `/services/${SERVICE}`);
    await api('DELETE', `/services/${service.ID}`);
    await waitUntil(
      'the task containers to be removed',
      async () => {
        const out = await engine.dockerOk(['ps', '-aq', '--filter', `label=com.docker.swarm.service.name=${SERVICE}`]);
        return out.trim() === '' ? true : undefined;
      },
      SWARM_WAIT,
    );
    // The node agent unpublishes once no task uses the volume and reports it; the manager then clears its status.
    await waitUntil(
      `${VOLUME} to be unpublished from the node`,
      async () => {
        const volume = await api<ClusterVolume>('GET', `/volumes/${VOLUME}`);
        const published = volume.ClusterVolume?.PublishStatus ?? [];
        return published.length === 0 && (await mountsUnder(publishedPath())).length === 0 ? true : undefined;
      },
      { ...SWARM_WAIT, describe: async () => JSON.stringify(await api('GET', `/volumes/${VOLUME}`)) },
    );
  };
  /** `cat` in a task's container (Debian's CLI can exec in a container the newer engine runs). */
  const readInTask = async (container: string, file: string): Promise<string> =>
    engine.dockerOk(['exec', container, 'cat', file]);
  /** The lines of a mountinfo that name the volume (its directory) or its published path (the swarm volume id). */
  const volumeMounts = (mountinfo: string): string[] =>
    mountinfo.split('\n').filter((line) => line.includes(`/volumes/${VOLUME}/`) || line.includes(swarmVolumeId));
  /** The mount points of the volume in the plugin's own mount namespace, where its bind mounts are made. */
  const mountsInPlugin = async (): Promise<string[]> =>
    volumeMounts(await readFile(`/proc/${await managedPluginPid(pluginId)}/mountinfo`, 'utf8')).map(
      (line) => line.split(' ')[4] as string,
    );
  /** The CSI calls the plugin logged (debug level: method and volume), in order, from the engine's log. */
  const pluginCalls = async (): Promise<string[]> => {
    const log = await readFile(engine.logFile, 'utf8');
    return log
      .split('\n')
      .filter((line) => line.includes(pluginId))
      .map((line) => line.replaceAll('\\"', '"'))
      .map((line) => /"method":"(\w+)"[^}]*"msg":"\w+ called"/.exec(line)?.[1])
      .filter((method): method is string => method !== undefined);
  };

  beforeAll(async () => {
    // Built once from the Go module proxy (dockerd takes about 5 minutes on 2 cores), then taken from the cache.
    const binaries = await swarmEngineBinaries();
    buildDir = await mkdtemp('/tmp/stowage-e2e-csi-plugin-');
    process.stderr.write(await buildCsiPlugin(join(buildDir, 'plugin')));
    dataDir = await mkdtemp('/tmp/stowage-e2e-csi-data-');
    engine = await DockerEngine.start({ label: 'swarm-cluster-volume', binaries });
    image = await importBusyboxImage(engine);
    // scripts/dev.sh setup builds the engine before the tests; a first run of this file alone waits for the build.
  }, 30 * 60_000);

  afterAll(async () => {
    const teardown = new TeardownSteps();
    if (engine?.running) {
      await teardown.run('removing the service', async () => {
        const left = await engineApi(engine, 'DELETE', `/services/${SERVICE}`);
        if (left.status !== 200 && left.status !== 404 && left.status !== 503) {
          throw new Error(`DELETE /services/${SERVICE}: ${left.status} ${left.text}`);
        }
        await waitUntil(
          'the task containers to be gone',
          async () => {
            const out = await engine.dockerOk([
              'ps',
              '-aq',
              '--filter',
              `label=com.docker.swarm.service.name=${SERVICE}`,
            ]);
            return out.trim() === '' ? true : undefined;
          },
          SWARM_WAIT,
        );
      });
      await teardown.run('removing the cluster volume', async () => {
        const removed = await engineApi(engine, 'DELETE', `/volumes/${VOLUME}?force=true`);
        if (removed.status === 404 || removed.status === 503) return;
        await waitUntil(
          `${VOLUME} to be deleted`,
          async () => ((await engineApi(engine, 'GET', `/volumes/${VOLUME}`)).status === 404 ? true : undefined),
          SWARM_WAIT,
        );
      });
      await teardown.run('leaving the swarm', () => engineApi(engine, 'POST', '/swarm/leave?force=true'));
      await teardown.run('removing the plugin', async () => {
        await engine.docker(['plugin', 'disable', '-f', PLUGIN]);
        await engine.docker(['plugin', 'rm', '-f', PLUGIN]);
      });
    }
    await teardown.run('stopping the engine', async () => engine?.stop());
    if (dataDir) {
      await teardown.run('unmounting the data directory', async () => {
        const failures = await unmountAllUnder(dataDir);
        if (failures.length > 0) throw new Error(failures.join('; '));
        await rm(dataDir, { recursive: true, force: true });
      });
    }
    if (buildDir) await teardown.run('removing the build', () => rm(buildDir, { recursive: true, force: true }));
    if (verified.length > 0) console.log(`swarm cluster volume, verified:\n  ${verified.join('\n  ')}`);
    teardown.finish('swarm cluster volume teardown', engine ? ` (engine log: ${engine.logFile})` : '');
  });

  it('installs the CSI plugin with its data on a host directory, and a single-node swarm lists it', async () => {
    const version = await api<{ ApiVersion: string; Version: string }>('GET', '/version');
    expect(Number(version.ApiVersion)).toBeGreaterThanOrEqual(1.42);

    await engine.dockerOk(['plugin', 'create', PLUGIN, join(buildDir, 'plugin')], { timeoutMs: 180_000 });
    // debug: the plugin logs every CSI call the engine makes, which is how this test learns what Swarm sent.
    await engine.dockerOk([
      'plugin',
      'set',
      PLUGIN,
      `data.source=${dataDir}`,
      'STOWAGE_DRIVERS=local',
      'STOWAGE_LOG_LEVEL=debug',
    ]);
    await engine.dockerOk(['plugin', 'enable', PLUGIN]);
    pluginId = (JSON.parse(await engine.dockerOk(['plugin', 'inspect', PLUGIN])) as { Id: string }[])[0]!.Id;

    const port = await freePort();
    await api('POST', '/swarm/init', { ListenAddr: `127.0.0.1:${port}`, AdvertiseAddr: `127.0.0.1:${port}` });
    // The node reports its CSI node plugins (NodeGetInfo's answer) in its description, which the scheduler needs
    // before it places a task with a cluster volume.
    const csiInfo = await waitUntil(
      `the node to report ${PLUGIN} as a CSI node plugin`,
      async () => {
        const nodes = await api<{ Description?: { CSIInfo?: { PluginName: string; NodeID: string }[] } }[]>(
          'GET',
          '/nodes',
        );
        return nodes[0]?.Description?.CSIInfo?.find((info) => info.PluginName === PLUGIN);
      },
      SWARM_WAIT,
    );
    expect(csiInfo.NodeID).not.toBe('');
    verified.push(
      `engine ${version.Version} (API ${version.ApiVersion}); node reports ${PLUGIN}, CSI node id ${csiInfo.NodeID}`,
    );
  });

  it('creates the cluster volume through CreateVolume, with the DriverOpts as its parameters', async () => {
    await api('POST', '/volumes/create', {
      Name: VOLUME,
      Driver: PLUGIN,
      // The backing's create options, as `docker volume create --opt` gives them: a mode other than the default.
      DriverOpts: { backing: 'local', mode: '0750' },
      ClusterVolumeSpec: {
        // Swarm maps scope single to SINGLE_NODE_WRITER whatever the sharing (swarmkit internal/csi/capability):
        // the mode a local directory supports. Sharing all lets the tasks on this node use it at once.
        AccessMode: { Scope: 'single', Sharing: 'all', MountVolume: {} },
        Availability: 'active',
      },
    });
    const volume = await waitUntil(
      `${VOLUME} to be created by the plugin`,
      async () => {
        const found = await api<ClusterVolume>('GET', `/volumes/${VOLUME}`);
        return found.ClusterVolume?.Info?.VolumeID ? found : undefined;
      },
      SWARM_WAIT,
    );
    swarmVolumeId = volume.ClusterVolume!.ID;
    expect(volume.ClusterVolume?.Info).toMatchObject({ VolumeID: VOLUME, VolumeContext: { backing: 'local' } });
    expect((await stat(join(volumeDataDir(), '_data'))).mode & 0o7777).toBe(0o750);
    verified.push(
      `CreateVolume made ${volumeDataDir()} with DriverOpts mode=0750 (swarm volume id ${swarmVolumeId}, CSI id ${VOLUME})`,
    );
  });

  it("publishes it to a service's task, which writes into the host directory", async () => {
    // Every task appends its hostname (its container's short id) once: a later task sees the earlier lines.
    await createService('hostname >> /data/tasks');
    const [first] = await waitForTasks(1);
    const firstHost = first!.slice(0, 12);
    const lines = await waitUntil(
      'the first task to write /data/tasks',
      async () => {
        const text = await readFile(join(volumeDataDir(), '_data', 'tasks'), 'utf8').catch(() => '');
        return text.includes(firstHost) ? text : undefined;
      },
      SWARM_WAIT,
    );
    expect(lines.trim().split('\n')).toEqual([firstHost]);
    // Published where Swarm asks, the plugin's propagated mount under the swarm volume id, which the host sees.
    expect(await mountsUnder(publishedPath())).toEqual([publishedPath()]);
    expect(await mountsInPlugin()).toEqual([`/data/published/${swarmVolumeId}`]);
    verified.push(`task ${firstHost} wrote through ${publishedPath()} (a mount on the host) into the volume`);
  });

  it('serves the tasks of a scaled service on this node at once', async () => {
    const before = (await runningTasks()).map((task) => task.Status.ContainerStatus!.ContainerID!);
    await updateService((spec) => ({ ...spec, Mode: { Replicated: { Replicas: 2 } } }));
    const containers = await waitForTasks(2);
    expect(containers).toEqual(expect.arrayContaining(before));
    const added = containers.find((id) => !before.includes(id))!;
    const seen = await waitUntil(
      'the added task to write /data/tasks',
      async () => {
        const text = await readInTask(added, '/data/tasks');
        return text.includes(added.slice(0, 12)) ? text : undefined;
      },
      SWARM_WAIT,
    );
    // The added task sees what the first one wrote: one volume, both tasks.
    expect(seen.trim().split('\n')).toEqual(expect.arrayContaining(before.map((id) => id.slice(0, 12))));
    verified.push(`scaled to 2: task ${added.slice(0, 12)} sees the first task's line`);
  });

  it('keeps the data when the service is updated: new tasks read what the old ones wrote', async () => {
    const old = (await runningTasks()).map((task) => task.Status.ContainerStatus!.ContainerID!);
    await updateService((spec) => ({
      ...spec,
      TaskTemplate: { ...spec.TaskTemplate, ForceUpdate: (spec.TaskTemplate.ForceUpdate ?? 0) + 1 },
    }));
    const fresh = await waitForTasks(2, old);
    for (const container of fresh) {
      const text = await waitUntil(
        `task ${container.slice(0, 12)} to write /data/tasks`,
        async () => {
          const read = await readInTask(container, '/data/tasks');
          return read.includes(container.slice(0, 12)) ? read : undefined;
        },
        SWARM_WAIT,
      );
      // Every line of the replaced tasks is still there: the data outlived them.
      for (const gone of old) expect(text).toContain(gone.slice(0, 12));
    }
    verified.push(`updated: new tasks ${fresh.map((c) => c.slice(0, 12)).join(', ')} read the replaced tasks' lines`);
  });

  it('unpublishes the volume from the node when the service goes, leaving no mount', async () => {
    await removeService();
    expect(existsSync(publishedPath())).toBe(false);
    expect(volumeMounts(await readFile('/proc/self/mountinfo', 'utf8'))).toEqual([]);
    expect(await mountsInPlugin()).toEqual([]);
    verified.push(`service removed: ${publishedPath()} unmounted and removed, on the host and in the plugin`);
  });

  it('keeps the volume and its data across a restart of the plugin (disable, enable)', async () => {
    const before = await readFile(join(volumeDataDir(), '_data', 'tasks'), 'utf8');
    // -f: the engine counts the cluster volume as a use of the plugin.
    await engine.dockerOk(['plugin', 'disable', '-f', PLUGIN]);
    await engine.dockerOk(['plugin', 'enable', PLUGIN]);
    // The restarted plugin finds the volume in its journal on the host directory: NodePublish would be NOT_FOUND
    // otherwise, and the task would never start.
    await createService('hostname >> /data/tasks');
    const [reader] = await waitForTasks(1);
    const text = await waitUntil(
      'the task after the restart to write /data/tasks',
      async () => {
        const read = await readInTask(reader!, '/data/tasks');
        return read.includes(reader!.slice(0, 12)) ? read : undefined;
      },
      SWARM_WAIT,
    );
    expect(text.startsWith(before)).toBe(true);
    await removeService();
    verified.push(
      `plugin disabled and enabled: a new task ${reader!.slice(0, 12)} read the ${before.trim().split('\n').length} earlier lines`,
    );
  });

  it('deletes the volume and its data when the volume goes', async () => {
    // Swarm refuses to remove a volume some node still has published; it is unpublished now, so this is accepted.
    await api('DELETE', `/volumes/${VOLUME}`);
    await waitUntil(
      `${VOLUME} to be deleted`,
      async () => ((await engineApi(engine, 'GET', `/volumes/${VOLUME}`)).status === 404 ? true : undefined),
      SWARM_WAIT,
    );
    await waitUntil(
      "the plugin's DeleteVolume to remove the volume's directory",
      async () => (existsSync(volumeDataDir()) ? undefined : true),
      SWARM_WAIT,
    );

    expect(volumeMounts(await readFile('/proc/self/mountinfo', 'utf8'))).toEqual([]);
    expect(await mountsInPlugin()).toEqual([]);
    const calls = await pluginCalls();
    expect(calls).toEqual(
      expect.arrayContaining(['CreateVolume', 'NodePublishVolume', 'NodeUnpublishVolume', 'DeleteVolume']),
    );
    // Neither is advertised (swarmkit #3178, #3276): Swarm must not have sent them.
    for (const never of ['NodeStageVolume', 'ControllerPublishVolume']) expect(calls).not.toContain(never);
    verified.push(
      `removed: published path gone, no mount of ${VOLUME} on the host or in the plugin, ${volumeDataDir()} deleted`,
    );
    verified.push(`CSI calls the plugin logged, in order: ${collapseRuns(calls).join(' ')}`);
  });
});

/** `A A A B` as `A×3 B`: Swarm probes and retries, and the sequence is what matters. */
function collapseRuns(calls: readonly string[]): string[] {
  const runs: { call: string; count: number }[] = [];
  for (const call of calls) {
    const last = runs.at(-1);
    if (last?.call === call) last.count += 1;
    else runs.push({ call, count: 1 });
  }
  return runs.map(({ call, count }) => (count > 1 ? `${call}×${count}` : call));
}
