import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateVolumeCommand, DescribeVolumesCommand, EC2Client } from '@aws-sdk/client-ec2';
import {
  MOTO_REGION as REGION,
  motoEc2Client as motoClient,
  runInstance,
  startCountingProxy,
  startMotoServer,
  type CountingProxy,
  type MotoServer,
} from '@stowage/testkit/moto';
import { VolumeEngine, createLogger, parseOptions } from '@stowage/core';
import {
  CLUSTER_TAG,
  EBS_SETTINGS,
  EbsProvider,
  PAGE_SIZE,
  VOLUME_NAME_TAG,
  stackIdFor,
  type EbsSettings,
} from '@stowage/driver-ebs';
import { fakeNitroDevices, RecordingHostOperations } from './recording-host.js';
import { fmt, pool, table, verdict } from './stats.js';

export interface CloudEconomyOptions {
  /** Relocatable volumes of the cluster at which `List` is counted. */
  readonly listSizes: readonly number[];
  /** Concurrent mounts of as many distinct volumes on one node (at most 20: one node has 21 device names). */
  readonly mountSizes: readonly number[];
  /** Concurrent Mount calls of many containers sharing {@link SHARED_VOLUMES} volumes on one node; 0 for none. */
  readonly sharedMounts: number;
  readonly log: (line: string) => void;
}

/** API calls by action (`ec2:DescribeVolumes`), as counted at the proxy in front of moto. */
export type CallCounts = Record<string, number>;

export interface ListFigure {
  readonly volumes: number;
  readonly listed: number;
  readonly ms: number;
  readonly calls: CallCounts;
  /** What issue 5 allows: one DescribeVolumes page per {@link PAGE_SIZE} volumes. */
  readonly maxPages: number;
}

export interface MountFigure {
  /** Mount calls started at once. */
  readonly mounts: number;
  /** Distinct volumes they mount. */
  readonly volumes: number;
  readonly mountMs: number;
  readonly mount: CallCounts;
  readonly unmount: CallCounts;
}

/**
 * The DescribeVolumes of one Mount and of one Remove of an existing volume, by what each looked up (see
 * `lookupOf` in the test kit): issue 11 wants one lookup by name each, the engine's; the provider acts on its answer.
 */
export interface LookupFigure {
  readonly mount: CallCounts;
  readonly remove: CallCounts;
}

export interface CloudEconomyResult {
  readonly moto: string;
  readonly lists: ListFigure[];
  readonly mounts: MountFigure[];
  readonly lookups: LookupFigure;
  /** The calls of the Mount that relocates one volume: from another node of its zone, and from another zone. */
  readonly relocation: { readonly sameZone: CallCounts; readonly crossZone: CallCounts };
  readonly verdicts: Array<{
    readonly name: string;
    readonly target: string;
    readonly value: string;
    readonly met: boolean;
  }>;
}

/** How many volumes the shared-mount figure spreads its Mount calls over: what one node can attach at once. */
const SHARED_VOLUMES = 20;
const CLUSTER = 'bench-economy';
const ZONE = `${REGION}a`;
const DESCRIBE = 'ec2:DescribeVolumes';
/** A DescribeVolumes looking a volume up by name: this cluster's tag and the name tag, as the driver filters it. */
const BY_NAME = [`tag:${CLUSTER_TAG}`, `tag:${VOLUME_NAME_TAG}`].sort().join('+');

/**
 * Counts the EC2 calls the relocatable backing makes for `List` and for concurrent mounts on one node, against
 * moto through a counting proxy. The provider runs in-process under a real {@link VolumeEngine} (what `stowage
 * serve` runs for Docker's List and Mount); host operations only record, since what is counted is API calls.
 */
export async function benchCloudEconomy(options: CloudEconomyOptions): Promise<CloudEconomyResult> {
  const moto = await startMotoServer({ region: REGION });
  const proxy = await startCountingProxy(moto.endpoint);
  const setup = motoClient(moto);
  const dir = await mkdtemp(join(tmpdir(), 'stowage-bench-economy-'));
  try {
    const lists: ListFigure[] = [];
    await moto.reset();
    let made = 0;
    for (const size of options.listSizes) {
      const t0 = performance.now();
      await makeVolumes(setup, made, size);
      options.log(`cloud economy: ${size} volumes made in ${Math.round((performance.now() - t0) / 1000)} s`);
      made = size;
      lists.push(await countList(moto, proxy, join(dir, `list-${size}`), size));
    }

    const mounts: MountFigure[] = [];
    const plans = [
      ...options.mountSizes.map((n) => ({ mounts: n, volumes: n })),
      ...(options.sharedMounts > 0 ? [{ mounts: options.sharedMounts, volumes: SHARED_VOLUMES }] : []),
    ];
    for (const plan of plans) {
      if (plan.volumes > SHARED_VOLUMES)
        throw new Error(`--mount-sizes: at most ${SHARED_VOLUMES} distinct volumes on one node`);
      await moto.reset();
      mounts.push(await countMounts(moto, proxy, setup, join(dir, `mount-${plan.mounts}x${plan.volumes}`), plan));
      options.log(`cloud economy: ${plan.mounts} mounts of ${plan.volumes} volumes counted`);
    }
    await moto.reset();
    const lookups = await countLookups(moto, proxy, setup, join(dir, 'lookups'));
    options.log('cloud economy: lookups of a Mount and a Remove counted');
    await moto.reset();
    const relocation = await countRelocation(moto, proxy, setup, join(dir, 'relocation'));
    options.log('cloud economy: relocations counted');
    return {
      moto: await motoVersion(),
      lists,
      mounts,
      lookups,
      relocation,
      verdicts: verdictsOf(lists, mounts, lookups),
    };
  } finally {
    setup.destroy();
    await proxy.stop();
    await moto.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Volumes `from`..`to - 1` of the cluster, made straight through moto (not counted), 16 at once. */
async function makeVolumes(client: EC2Client, from: number, to: number): Promise<string[]> {
  const stackId = stackIdFor(CLUSTER);
  const ids: string[] = [];
  const indexes = Array.from({ length: to - from }, (_, i) => from + i);
  await pool(indexes, 16, async (index) => {
    const made = await client.send(
      new CreateVolumeCommand({
        AvailabilityZone: ZONE,
        Size: 1,
        VolumeType: 'standard',
        TagSpecifications: [
          {
            ResourceType: 'volume',
            Tags: [
              { Key: VOLUME_NAME_TAG, Value: volumeName(index) },
              { Key: CLUSTER_TAG, Value: stackId },
            ],
          },
        ],
      }),
    );
    ids[index - from] = made.VolumeId as string;
  });
  return ids;
}

function volumeName(index: number): string {
  return `eco-${String(index).padStart(5, '0')}`;
}

interface BenchNode {
  readonly engine: VolumeEngine;
  stop(): Promise<void>;
}

/** One node: an EBS provider whose EC2 client talks to the counting proxy, under a volume engine. */
async function startBenchNode(
  moto: MotoServer,
  proxy: CountingProxy,
  dir: string,
  devices?: readonly string[],
  zone = ZONE,
): Promise<BenchNode & { readonly instanceId: string }> {
  const setup = motoClient(moto);
  const instanceId = await runInstance(setup, zone);
  setup.destroy();
  const { deviceDir, sysfsRoot } = await fakeNitroDevices(dir, devices ?? []);
  const settings = parseOptions(
    EBS_SETTINGS,
    {
      clusterId: CLUSTER,
      region: REGION,
      instanceId,
      availabilityZone: zone,
      deviceDir,
      sysfsRoot,
      mountRoot: join(dir, 'mounts'),
    },
    'driver ebs',
  ) as EbsSettings;
  const logger = createLogger({ level: 'silent' });
  const host = new RecordingHostOperations();
  const credentials = {
    accessKeyId: moto.env.AWS_ACCESS_KEY_ID ?? 'x',
    secretAccessKey: moto.env.AWS_SECRET_ACCESS_KEY ?? 'x',
  };
  const provider = new EbsProvider(settings, {
    host,
    logger,
    stateDir: join(dir, 'state'),
    ec2: (region) => new EC2Client({ region, endpoint: proxy.endpoint, credentials }),
    timing: { deviceTimeoutMs: 10_000 },
  });
  const engine = new VolumeEngine([provider], host, logger, { stateDir: join(dir, 'engine') });
  await engine.start();
  return { engine, instanceId, stop: () => engine.stop() };
}

/**
 * One volume released by node A, then mounted by node B of the same zone (detach there, attach here), then by
 * node C of another zone (snapshot, new volume, delete the old one and the snapshot, attach). Only the relocating
 * Mount is counted. C's device appears when moto shows the new volume attached, as udev would make it.
 */
async function countRelocation(
  moto: MotoServer,
  proxy: CountingProxy,
  setup: EC2Client,
  dir: string,
): Promise<{ sameZone: CallCounts; crossZone: CallCounts }> {
  const [volumeId] = await makeVolumes(setup, 0, 1);
  const name = volumeName(0);
  const a = await startBenchNode(moto, proxy, join(dir, 'a'), [volumeId as string]);
  await a.engine.mount(name, 'task');
  await a.engine.unmount(name, 'task');
  await a.stop();

  const b = await startBenchNode(moto, proxy, join(dir, 'b'), [volumeId as string]);
  proxy.reset();
  await b.engine.mount(name, 'task');
  const sameZone = proxy.counts();
  await b.engine.unmount(name, 'task');
  await b.stop();

  const otherZone = `${REGION}b`;
  const c = await startBenchNode(moto, proxy, join(dir, 'c'), [], otherZone);
  const udev = setInterval(() => {
    void setup
      .send(new DescribeVolumesCommand({ Filters: [{ Name: 'attachment.instance-id', Values: [c.instanceId] }] }))
      .then(({ Volumes = [] }) =>
        fakeNitroDevices(
          join(dir, 'c'),
          Volumes.map((v) => v.VolumeId as string),
        ),
      )
      .catch(() => undefined);
  }, 50);
  try {
    proxy.reset();
    await c.engine.mount(name, 'task');
    const crossZone = proxy.counts();
    await c.engine.unmount(name, 'task');
    return { sameZone, crossZone };
  } finally {
    clearInterval(udev);
    await c.stop();
  }
}

/** One existing volume mounted (then released, not counted) and removed through the engine; see {@link LookupFigure}. */
async function countLookups(
  moto: MotoServer,
  proxy: CountingProxy,
  setup: EC2Client,
  dir: string,
): Promise<LookupFigure> {
  const [volumeId] = await makeVolumes(setup, 0, 1);
  const name = volumeName(0);
  const node = await startBenchNode(moto, proxy, dir, [volumeId as string]);
  try {
    proxy.reset();
    await node.engine.mount(name, 'task');
    const mount = proxy.lookups(DESCRIBE);
    await node.engine.unmount(name, 'task');
    proxy.reset();
    await node.engine.remove(name);
    return { mount, remove: proxy.lookups(DESCRIBE) };
  } finally {
    await node.stop();
  }
}

async function countList(moto: MotoServer, proxy: CountingProxy, dir: string, volumes: number): Promise<ListFigure> {
  const node = await startBenchNode(moto, proxy, dir);
  try {
    proxy.reset();
    const t0 = performance.now();
    const listed = (await node.engine.list()).length;
    const ms = performance.now() - t0;
    return { volumes, listed, ms, calls: proxy.counts(), maxPages: Math.max(1, Math.ceil(volumes / PAGE_SIZE)) };
  } finally {
    await node.stop();
  }
}

async function countMounts(
  moto: MotoServer,
  proxy: CountingProxy,
  setup: EC2Client,
  dir: string,
  plan: { mounts: number; volumes: number },
): Promise<MountFigure> {
  const ids = await makeVolumes(setup, 0, plan.volumes);
  const node = await startBenchNode(moto, proxy, dir, ids);
  try {
    const calls = Array.from({ length: plan.mounts }, (_, i) => ({
      name: volumeName(i % plan.volumes),
      caller: `container-${i}`,
    }));
    proxy.reset();
    const t0 = performance.now();
    await Promise.all(calls.map((c) => node.engine.mount(c.name, c.caller)));
    const mountMs = performance.now() - t0;
    const mount = proxy.counts();
    proxy.reset();
    await Promise.all(calls.map((c) => node.engine.unmount(c.name, c.caller)));
    return { ...plan, mountMs, mount, unmount: proxy.counts() };
  } finally {
    await node.stop();
  }
}

function verdictsOf(
  lists: readonly ListFigure[],
  mounts: readonly MountFigure[],
  lookups: LookupFigure,
): CloudEconomyResult['verdicts'] {
  const verdicts: CloudEconomyResult['verdicts'] = lists.map((l) => {
    const pages = l.calls[DESCRIBE] ?? 0;
    const others = Object.entries(l.calls).filter(([action]) => action !== DESCRIBE);
    return {
      name: `List of ${fmt(l.volumes)} volumes`,
      target: `<= ${l.maxPages} DescribeVolumes, no other call`,
      value: `${pages} DescribeVolumes${others.length ? `, ${others.map(([a, n]) => `${n} ${a}`).join(', ')}` : ''}`,
      met: pages <= l.maxPages && others.length === 0 && l.listed === l.volumes,
    };
  });
  const single = mounts.find((m) => m.mounts === 1 && m.volumes === 1);
  for (const m of mounts) {
    if (m === single || single === undefined) continue;
    const alone = (single.mount[DESCRIBE] ?? 0) * m.volumes;
    const together = m.mount[DESCRIBE] ?? 0;
    verdicts.push({
      name: `${m.mounts} concurrent mounts of ${m.volumes} volumes`,
      target: `DescribeVolumes < ${m.volumes} x one mount's (${alone})`,
      value: `${together}`,
      met: together < alone,
    });
  }
  for (const [what, calls] of [
    ['Mount', lookups.mount],
    ['Remove', lookups.remove],
  ] as const) {
    const byName = calls[BY_NAME] ?? 0;
    verdicts.push({
      name: `${what} of an existing volume`,
      target: '1 DescribeVolumes for the lookup',
      value: `${byName} for the lookup${otherLookups(calls)}`,
      met: byName === 1,
    });
  }
  return verdicts;
}

/** The DescribeVolumes of `calls` that are not lookups by name, by kind: `, + 1 volume-id`. */
function otherLookups(calls: CallCounts): string {
  const others = Object.entries(calls).filter(([kind]) => kind !== BY_NAME);
  return others.map(([kind, n]) => `, + ${n} ${kind}`).join('');
}

async function motoVersion(): Promise<string> {
  const { execFileSync } = await import('node:child_process');
  return execFileSync('python3', ['-c', 'import moto; print(moto.__version__)'], { encoding: 'utf8' }).trim();
}

function total(calls: CallCounts): number {
  return Object.values(calls).reduce((sum, n) => sum + n, 0);
}

function describeCalls(calls: CallCounts): string {
  const entries = Object.entries(calls).sort(([, a], [, b]) => b - a);
  return entries.length ? entries.map(([action, n]) => `${action.replace(/^ec2:/, '')} ${n}`).join(', ') : 'none';
}

export function printCloudEconomy(result: CloudEconomyResult, print: (text: string) => void): void {
  print(
    `\nCloud API economy: relocatable (EBS) backing on moto ${result.moto}, EC2 calls counted at a proxy in front of it`,
  );
  print(
    table(
      ['volumes', 'listed', 'List ms', 'DescribeVolumes', 'allowed pages', 'all calls'],
      result.lists.map((l) => [
        fmt(l.volumes),
        fmt(l.listed),
        fmt(l.ms),
        String(l.calls[DESCRIBE] ?? 0),
        String(l.maxPages),
        describeCalls(l.calls),
      ]),
    ),
  );
  print(
    "(moto ignores MaxResults and answers DescribeVolumes in one page; paging by 500 is proven by the driver's unit tests.)",
  );
  print('');
  print(
    table(
      ['mounts', 'volumes', 'mount ms', 'DescribeVolumes', 'per volume', 'mount calls', 'unmount calls'],
      result.mounts.map((m) => [
        fmt(m.mounts),
        fmt(m.volumes),
        fmt(m.mountMs),
        String(m.mount[DESCRIBE] ?? 0),
        fmt((m.mount[DESCRIBE] ?? 0) / m.volumes),
        describeCalls(m.mount),
        describeCalls(m.unmount),
      ]),
    ),
  );
  print(
    '(host operations recorded, not run: no real mkfs or mount; mounts beyond 20 share 20 volumes, as containers on one node do.)',
  );
  print('');
  print(
    table(
      ['one existing volume', 'DescribeVolumes by name (lookup)', 'other DescribeVolumes, by filter'],
      [
        ['Mount', String(result.lookups.mount[BY_NAME] ?? 0), otherLookups(result.lookups.mount).slice(2) || 'none'],
        ['Remove', String(result.lookups.remove[BY_NAME] ?? 0), otherLookups(result.lookups.remove).slice(2) || 'none'],
      ],
    ),
  );
  print(
    "(volume-id: the polls of the attach wait; attachment.instance-id: the device names in use, cached 5 s. Before issue 11's handles, 2 lookups by name each.)",
  );
  print('');
  print(
    table(
      ['relocating Mount', 'calls', 'all calls'],
      [
        [
          'same zone (detached from node A, attached to node B)',
          fmt(total(result.relocation.sameZone)),
          describeCalls(result.relocation.sameZone),
        ],
        [
          'across zones (snapshot, new volume, old deleted)',
          fmt(total(result.relocation.crossZone)),
          describeCalls(result.relocation.crossZone),
        ],
      ],
    ),
  );
  print(
    '\n' +
      table(
        ['target', 'wanted', 'measured', 'verdict'],
        result.verdicts.map((v) => [v.name, v.target, v.value, verdict(v.met)]),
      ),
  );
  print(`\nwhat dominates: ${dominates(result)}`);
}

/** The action with the most calls over every mount and unmount figure, and what it costs per volume. */
function dominates(result: CloudEconomyResult): string {
  const totals = new Map<string, number>();
  let volumes = 0;
  for (const m of result.mounts) {
    volumes += m.volumes;
    for (const calls of [m.mount, m.unmount])
      for (const [action, n] of Object.entries(calls)) totals.set(action, (totals.get(action) ?? 0) + n);
  }
  const ranked = [...totals].sort(([, a], [, b]) => b - a);
  const all = ranked.reduce((sum, [, n]) => sum + n, 0);
  const parts = ranked
    .slice(0, 3)
    .map(
      ([action, n]) =>
        `${action.replace(/^ec2:/, '')} ${Math.round((100 * n) / all)} % (${fmt(n / volumes)} per volume)`,
    );
  return `mount and release: ${parts.join(', ')}; List: one DescribeVolumes page per ${PAGE_SIZE} volumes, nothing per volume.`;
}
