import { readdir, readFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { parse as parseHcl } from '@cdktf/hcl2json';
import type { BackingSummary } from '@stowage/core';
import { driver as ebsDriver } from '@stowage/driver-ebs';
import { driver as efsDriver } from '@stowage/driver-efs';
import { driver as localDriver } from '@stowage/driver-local';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { type AccessModeName, accessProfile } from '../src/access-profile.js';
import { ControllerService } from '../src/controller-service.js';
import { OperationsInFlight } from '../src/operations-in-flight.js';
import { defaultPluginName } from '../src/plugin-name.js';
import { FakeHost } from './support/fake-host.js';
import { type LocalEngine, startLocalEngine } from './support/local-engine.js';

// The Kubernetes manifests and the Nomad job are documentation no orchestrator runs here; this test keeps the facts
// in them that must agree with the adapter from drifting: names, sockets, capabilities, access modes.

const REPO = join(import.meta.dirname, '..', '..', '..');
const KUBERNETES = join(REPO, 'packaging', 'kubernetes');
const NOMAD = join(REPO, 'packaging', 'nomad');

const DRIVER_NAMES: readonly string[] = [localDriver.name, efsDriver.name, ebsDriver.name];

// Loose shapes of what the test reads: manifests are data, checked field by field below.
interface Container {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  env?: { name: string; value?: string }[];
  volumeMounts?: { name: string; mountPath: string; mountPropagation?: string }[];
}
interface PodSpec {
  containers: Container[];
  volumes?: { name: string; hostPath?: { path: string }; emptyDir?: object }[];
}
interface Manifest {
  kind: string;
  metadata: { name: string };
  spec?: { attachRequired?: boolean; podInfoOnMount?: boolean; template?: { spec: PodSpec } };
  provisioner?: string;
  parameters?: Record<string, string>;
}

async function kubernetesManifests(): Promise<Manifest[]> {
  const files = (await readdir(KUBERNETES)).filter((f) => f.endsWith('.yaml')).sort();
  const manifests: Manifest[] = [];
  for (const file of files) {
    for (const document of parseAllDocuments(await readFile(join(KUBERNETES, file), 'utf8'))) {
      expect(document.errors, `${file}: YAML errors`).toEqual([]);
      manifests.push(document.toJS() as Manifest);
    }
  }
  return manifests;
}

/** The managed plugin's entrypoint: the image made from its rootfs runs the same program. */
async function pluginProgram(): Promise<string[]> {
  const config = JSON.parse(await readFile(join(REPO, 'packaging', 'managed-plugin', 'config.json'), 'utf8')) as {
    entrypoint: string[];
  };
  return config.entrypoint.slice(0, -1);
}

/** Every workload of a kind, with its pod spec and its stowage container; at least one. */
async function workloads(
  kind: 'Deployment' | 'DaemonSet',
): Promise<{ name: string; spec: PodSpec; plugin: Container }[]> {
  const found = (await kubernetesManifests()).filter((m) => m.kind === kind);
  expect(found.length, kind).toBeGreaterThan(0);
  return found.map((m) => {
    const spec = m.spec?.template?.spec as PodSpec;
    return { name: m.metadata.name, spec, plugin: stowageContainer(spec) };
  });
}

function stowageContainer(spec: PodSpec): Container {
  const found = spec.containers.find((c) => c.name === 'stowage');
  if (!found) throw new Error(`no stowage container among ${spec.containers.map((c) => c.name).join(', ')}`);
  return found;
}

function sidecar(spec: PodSpec, name: string): Container {
  const found = spec.containers.find((c) => c.name === name);
  if (!found) throw new Error(`no ${name} sidecar`);
  return found;
}

/** The value after `--flag` (as two arguments) or in `--flag=value`. */
function flag(args: readonly string[], name: string): string | undefined {
  const at = args.indexOf(name);
  if (at >= 0) return args[at + 1];
  return args.find((a) => a.startsWith(`${name}=`))?.slice(name.length + 1);
}

function envValue(container: Container, name: string): string | undefined {
  return container.env?.find((e) => e.name === name)?.value;
}

/** Where a path inside a container is on the host: through the hostPath volume mounted at one of its parents. */
function hostPathOf(spec: PodSpec, container: Container, path: string): string | undefined {
  for (const mount of container.volumeMounts ?? []) {
    const relative = posix.relative(mount.mountPath, path);
    if (relative.startsWith('..') || posix.isAbsolute(relative)) continue;
    const volume = spec.volumes?.find((v) => v.name === mount.name);
    return volume?.hostPath ? posix.join(volume.hostPath.path, relative) : undefined;
  }
  return undefined;
}

/** Which volume of the pod a path inside a container is on, so two containers can be seen to share a socket. */
function volumeOf(container: Container, path: string): { volume: string; relative: string } | undefined {
  for (const mount of container.volumeMounts ?? []) {
    const relative = posix.relative(mount.mountPath, path);
    if (!relative.startsWith('..') && !posix.isAbsolute(relative)) return { volume: mount.name, relative };
  }
  return undefined;
}

function socketOf(endpoint: string | undefined): string {
  expect(endpoint, 'the plugin is given --endpoint').toMatch(/^unix:\/\/\//);
  return (endpoint as string).slice('unix://'.length);
}

function backingSummary(name: string): BackingSummary {
  return { name, aliases: [], scope: 'global', isDefault: true };
}

let local: LocalEngine;
beforeAll(async () => {
  local = await startLocalEngine(new FakeHost());
});
afterAll(() => local.dispose());

describe('packaging/kubernetes', () => {
  it('declares attachRequired false because the controller advertises no PUBLISH_UNPUBLISH', async () => {
    const capabilities = await new ControllerService(local.stowage.engine, new OperationsInFlight()).getCapabilities();
    const rpcs = (capabilities.capabilities ?? []).map((c) => c.rpc?.type);
    expect(rpcs).not.toContain('PUBLISH_UNPUBLISH');

    const drivers = (await kubernetesManifests()).filter((m) => m.kind === 'CSIDriver');
    expect(drivers.length).toBeGreaterThan(0);
    for (const driver of drivers) {
      expect(driver.spec?.attachRequired, driver.metadata.name).toBe(false);
      expect(driver.spec?.podInfoOnMount, driver.metadata.name).toBe(false);
    }
  });

  it('names each CSIDriver as `stowage csi` names itself for the one driver its pods enable', async () => {
    const manifests = await kubernetesManifests();
    const driverNames = manifests.filter((m) => m.kind === 'CSIDriver').map((m) => m.metadata.name);
    const workloads = manifests.filter((m) => m.kind === 'Deployment' || m.kind === 'DaemonSet');
    expect(workloads.length).toBe(2 * driverNames.length);
    const program = await pluginProgram();

    for (const workload of workloads) {
      const plugin = stowageContainer(workload.spec?.template?.spec as PodSpec);
      const backing = envValue(plugin, 'STOWAGE_DRIVERS');
      expect(DRIVER_NAMES, `${workload.metadata.name}: STOWAGE_DRIVERS`).toContain(backing);
      const args = plugin.args ?? [];
      // No --name: the orchestrator must see the name the plugin reports by default.
      expect(flag(args, '--name'), workload.metadata.name).toBeUndefined();
      expect(driverNames, workload.metadata.name).toContain(defaultPluginName(backing as string));
      expect(plugin.command).toEqual([...program, 'csi']);
      expect(flag(args, '--mode')).toBe(workload.kind === 'Deployment' ? 'controller' : 'node');
    }
    // Every driver has both halves.
    for (const name of driverNames) {
      const served = workloads.filter(
        (w) =>
          defaultPluginName(envValue(stowageContainer(w.spec?.template?.spec as PodSpec), 'STOWAGE_DRIVERS') ?? '') ===
          name,
      );
      expect(served.map((w) => w.kind).sort(), name).toEqual(['DaemonSet', 'Deployment']);
    }
  });

  it("registers the node plugin's socket with the kubelet where the plugin listens", async () => {
    for (const { name: daemonSet, spec, plugin } of await workloads('DaemonSet')) {
      const socket = socketOf(flag(plugin.args ?? [], '--endpoint'));
      const hostSocket = hostPathOf(spec, plugin, socket);
      const name = defaultPluginName(envValue(plugin, 'STOWAGE_DRIVERS') ?? '');
      // The kubelet's convention for a driver's socket directory.
      expect(hostSocket, daemonSet).toBe(`/var/lib/kubelet/plugins/${name}/csi.sock`);

      const registrar = sidecar(spec, 'node-driver-registrar');
      const registrarArgs = registrar.args ?? [];
      expect(flag(registrarArgs, '--kubelet-registration-path')).toBe(hostSocket);
      const registrarSocket = flag(registrarArgs, '--csi-address') as string;
      expect(hostPathOf(spec, registrar, registrarSocket)).toBe(hostSocket);
      expect(hostPathOf(spec, registrar, '/registration')).toBe('/var/lib/kubelet/plugins_registry');

      const probe = sidecar(spec, 'liveness-probe');
      expect(hostPathOf(spec, probe, flag(probe.args ?? [], '--csi-address') as string)).toBe(hostSocket);

      // NodePublish bind-mounts onto the kubelet's target paths: the mount must propagate back to the host.
      const kubelet = plugin.volumeMounts?.find((m) => m.mountPath === '/var/lib/kubelet');
      expect(kubelet?.mountPropagation).toBe('Bidirectional');
      expect(hostPathOf(spec, plugin, '/var/lib/kubelet')).toBe('/var/lib/kubelet');
    }
  });

  it("gives the controller's provisioner and probe the plugin's socket", async () => {
    for (const { name: deployment, spec, plugin } of await workloads('Deployment')) {
      const socket = volumeOf(plugin, socketOf(flag(plugin.args ?? [], '--endpoint')));
      expect(socket, deployment).toBeDefined();
      for (const name of ['csi-provisioner', 'liveness-probe']) {
        const container = sidecar(spec, name);
        expect(volumeOf(container, flag(container.args ?? [], '--csi-address') as string), name).toEqual(socket);
      }
    }
  });

  it('provisions each StorageClass with the driver that serves its backing', async () => {
    const manifests = await kubernetesManifests();
    const classes = manifests.filter((m) => m.kind === 'StorageClass');
    expect(classes.length).toBe(manifests.filter((m) => m.kind === 'CSIDriver').length);
    for (const storageClass of classes) {
      const backing = storageClass.parameters?.backing as string;
      expect(DRIVER_NAMES, storageClass.metadata.name).toContain(backing);
      expect(storageClass.provisioner, storageClass.metadata.name).toBe(defaultPluginName(backing));
    }
  });
});

// hcl2json's shapes: every block is a list of bodies, labelled blocks are objects keyed by label.
type HclBody = Record<string, unknown>;
function blocks(body: HclBody, name: string): HclBody[] {
  return (body[name] as HclBody[] | undefined) ?? [];
}
function one(body: HclBody, name: string): HclBody {
  const found = blocks(body, name);
  expect(found, `one ${name} block`).toHaveLength(1);
  return found[0] as HclBody;
}

async function parseNomad(file: string): Promise<HclBody> {
  return (await parseHcl(file, await readFile(join(NOMAD, file), 'utf8'))) as HclBody;
}

describe('packaging/nomad', () => {
  it('runs one monolith plugin per backing, named after the driver it enables, on the endpoint Nomad gives', async () => {
    const spec = await parseNomad('stowage-csi.nomad.hcl');
    const job = one(spec.job as HclBody, 'stowage-csi');
    expect(job.type).toBe('system');
    // One group per backing: the iterator is the driver's name.
    const group = one(job.dynamic as HclBody, 'group');
    expect(group.for_each).toBe('${var.backings}');
    const task = one(one(group, 'content').task as HclBody, 'plugin');

    const plugin = one(task, 'csi_plugin');
    // `monolith`: with no ControllerPublish the node needs the controller's permissions anyway (see the job's notes).
    expect(plugin.type).toBe('monolith');
    expect(plugin.id).toBe('stowage-${group.value}');
    expect(one(task, 'env').STOWAGE_DRIVERS).toBe('${group.value}');

    const config = one(task, 'config');
    expect(config.entrypoint).toEqual(await pluginProgram());
    const args = config.args as string[];
    expect(args[0]).toBe('csi');
    // Nomad sets CSI_ENDPOINT inside mount_dir; an --endpoint would override it with a path Nomad does not watch.
    expect(flag(args, '--endpoint')).toBeUndefined();
    expect(plugin.mount_dir).toBe('/csi');
    expect(flag(args, '--name')).toBeUndefined();
    expect(config.privileged).toBe(true);
  });

  it('defaults to backings that are real drivers', async () => {
    const spec = await parseNomad('stowage-csi.nomad.hcl');
    const variable = one(spec.variable as HclBody, 'backings');
    const defaults = variable.default as string[];
    expect(defaults.length).toBeGreaterThan(0);
    for (const backing of defaults) expect(DRIVER_NAMES).toContain(backing);
  });

  it('asks the volume spec for access modes its backing serves, of the plugin that serves that backing', async () => {
    const volume = await parseNomad('volume.hcl');
    const backing = one(volume, 'parameters').backing as string;
    expect(DRIVER_NAMES).toContain(backing);
    expect(volume.plugin_id).toBe(`stowage-${backing}`);
    const profile = accessProfile(backingSummary(backing));
    const capabilities = blocks(volume, 'capability');
    expect(capabilities.length).toBeGreaterThan(0);
    for (const capability of capabilities) {
      expect(capability.attachment_mode).toBe('file-system');
      const mode = (capability.access_mode as string).toUpperCase().replaceAll('-', '_') as AccessModeName;
      expect(profile.accessModes.has(mode), mode).toBe(true);
    }
  });
});
