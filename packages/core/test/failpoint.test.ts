import { afterEach, describe, expect, it, vi } from 'vitest';

/** The module reads STOWAGE_FAILPOINTS once when it loads: each case loads a fresh copy under its own setting. */
async function loadWith(value: string | undefined): Promise<typeof import('../src/failpoints/failpoint.js')> {
  vi.resetModules();
  if (value === undefined) vi.stubEnv('STOWAGE_FAILPOINTS', undefined);
  else vi.stubEnv('STOWAGE_FAILPOINTS', value);
  return import('../src/failpoints/failpoint.js');
}

describe('failpoint', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.restoreAllMocks();
  });

  it('does nothing when STOWAGE_FAILPOINTS is unset', async () => {
    const { failpoint, armedFailpoints } = await loadWith(undefined);
    const kill = vi.spyOn(process, 'kill').mockImplementation(() => true);
    failpoint('mount:after-intent');
    expect(kill).not.toHaveBeenCalled();
    expect(armedFailpoints()).toEqual([]);
  });

  it('sends SIGKILL to this process at an armed point, and only there', async () => {
    const { failpoint, armedFailpoints } = await loadWith(' mount:after-intent, ,unmount:after-commit ');
    const kill = vi.spyOn(process, 'kill').mockImplementation(() => true);
    expect(armedFailpoints()).toEqual(['mount:after-intent', 'unmount:after-commit']);

    failpoint('mount:after-provider');
    expect(kill).not.toHaveBeenCalled();
    failpoint('unmount:after-commit');
    expect(kill).toHaveBeenCalledExactlyOnceWith(process.pid, 'SIGKILL');
  });

  it('reads the setting once, at load: a later change does not arm anything', async () => {
    const { failpoint } = await loadWith(undefined);
    vi.stubEnv('STOWAGE_FAILPOINTS', 'create:before-provider');
    const kill = vi.spyOn(process, 'kill').mockImplementation(() => true);
    failpoint('create:before-provider');
    expect(kill).not.toHaveBeenCalled();
  });
});

describe('ENGINE_FAILPOINTS', () => {
  it('names every step boundary once', async () => {
    const { ENGINE_FAILPOINTS } = await import('../src/engine/engine-failpoints.js');
    expect(new Set(ENGINE_FAILPOINTS).size).toBe(ENGINE_FAILPOINTS.length);
    for (const operation of ['create', 'mount', 'unmount', 'remove']) {
      expect(
        ENGINE_FAILPOINTS.some((name) => name.startsWith(`${operation}:`)),
        operation,
      ).toBe(true);
    }
  });
});
