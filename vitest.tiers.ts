import { configDefaults, type TestProjectInlineConfiguration } from 'vitest/config';

/**
 * The test tiers, by file name: the one place that says which file runs in which tier. Every package's
 * vitest.config.ts builds its projects from {@link tierProjects}, and its `test:<tier>` scripts run one project each.
 *
 * - `unit`   (`*.test.ts`): in-process, in-memory or on temp directories; no root, no moto, no Docker; seconds.
 * - `cloud`  (`*.moto.test.ts`): against a moto server (python3 with `moto[server]`); the providers that mount (EBS on
 *            loop devices, EFS on bind mounts) need root too.
 * - `e2e`    (`*.e2e.test.ts`): the real host as root: loop devices, mounts and, in docker-adapter, private Docker engines.
 * - `model`  (`*.model.test.ts`, docker-adapter): model-based runs in process, no root, moto or Docker; tens of seconds.
 * - `crash`  (`*.crash.test.ts`, docker-adapter): the built plugin killed at every failpoint; root and moto, no Docker.
 */
export const TIER_FILES = {
  unit: ['src/**/*.test.ts', 'test/**/*.test.ts'],
  model: ['test/**/*.model.test.ts'],
  cloud: ['src/**/*.moto.test.ts', 'test/**/*.moto.test.ts'],
  crash: ['test/**/*.crash.test.ts'],
  e2e: ['src/**/*.e2e.test.ts', 'test/**/*.e2e.test.ts'],
} as const;

export type Tier = keyof typeof TIER_FILES;

/** What the unit tier leaves out: every other tier's files. */
export const NOT_UNIT = [...TIER_FILES.cloud, ...TIER_FILES.e2e, ...TIER_FILES.model, ...TIER_FILES.crash];

type ProjectTest = NonNullable<TestProjectInlineConfiguration['test']>;

/**
 * One vitest project per tier given, each named after its tier and holding the files of {@link TIER_FILES}, with
 * the package's own settings (timeouts, parallelism) per tier. A plain `vitest run` (the package's `test`) runs the
 * tiers one after another in the order above (`groupOrder`): the fast failures come first, and the tiers that share
 * the machine's loop devices, mounts and plugin socket never overlap.
 */
export function tierProjects(
  tiers: Partial<Record<Tier, Omit<ProjectTest, 'name' | 'include'>>>,
): TestProjectInlineConfiguration[] {
  return (Object.keys(TIER_FILES) as Tier[])
    .filter((tier) => tiers[tier] !== undefined)
    .map((tier) => ({
      test: {
        testTimeout: 20_000,
        hookTimeout: 30_000,
        ...tiers[tier],
        name: tier,
        include: [...TIER_FILES[tier]],
        exclude: [...configDefaults.exclude, ...(tier === 'unit' ? NOT_UNIT : []), ...(tiers[tier]?.exclude ?? [])],
        sequence: { ...tiers[tier]?.sequence, groupOrder: Object.keys(TIER_FILES).indexOf(tier) },
      },
    }));
}
