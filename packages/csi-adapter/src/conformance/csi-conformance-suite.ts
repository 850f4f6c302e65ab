import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import type { ConformanceSetup } from '@stowage/core/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CsiConformanceHarness } from './csi-conformance-harness.js';
import { expectSanityPassed, runCsiSanity, sanityCounts, sanityPlaces } from './csi-sanity-runner.js';

const PROBE_FILE = 'stowage-csi-conformance.txt';

/** Options of {@link runCsiConformanceSuite}. */
export interface CsiConformanceOptions {
  /**
   * csi-sanity (kubernetes-csi/csi-test v5), run once against the plugin besides the suite: its binary's path, or a
   * function resolving it (called inside the test, so a build may take the test's time). Left out, `CSI_SANITY` in
   * the environment names it; with neither, that test is reported skipped, saying so.
   */
  readonly csiSanity?: string | (() => Promise<string>);
}

type Volume = { volume_id: string; capacity_bytes: string; volume_context: Record<string, string> };

const writer = { mount: {}, access_mode: { mode: 'SINGLE_NODE_WRITER' } };

/**
 * The CSI section of the conformance kit: a provider behind a real engine and the CSI plugin (`startCsiServer`) on a
 * temporary unix socket, driven through a real gRPC client as a CO drives it. Checks Identity; CreateVolume from the
 * backing's create options, idempotent, with ALREADY_EXISTS for other options and INVALID_ARGUMENT for the invalid
 * ones; ValidateVolumeCapabilities; ListVolumes; NodePublishVolume as a real bind mount at a target the plugin makes,
 * read-only where asked, written and read back, kept across a plugin restart; NodeUnpublishVolume; DeleteVolume,
 * refused while published and idempotent; and the spec's codes for bad input. Then csi-sanity, where its binary is
 * given. Takes the same {@link ConformanceSetup} as core's `runConformanceSuite`; needs root (bind mounts).
 *
 * @param name Shown in the test report, usually the backing's name.
 * @param setup Makes a fresh provider and what the suite needs to know about it, once per test.
 */
export function runCsiConformanceSuite(
  name: string,
  setup: () => Promise<ConformanceSetup>,
  options: CsiConformanceOptions = {},
): void {
  describe(`${name}: CSI plugin conformance`, () => {
    let h: CsiConformanceHarness;

    beforeEach(async () => {
      h = await CsiConformanceHarness.start(setup);
    });

    afterEach(async () => {
      await h?.close();
    });

    const create = (volume: string, parameters = h.parameters()) =>
      h.client.call<{ volume: Volume }>('controller', 'CreateVolume', {
        name: volume,
        volume_capabilities: [writer],
        parameters,
      });
    const publish = (volume: string, target: string, extra: object = {}) =>
      h.client.call('node', 'NodePublishVolume', {
        volume_id: volume,
        volume_capability: writer,
        target_path: target,
        ...extra,
      });
    const unpublish = (volume: string, target: string) =>
      h.client.call('node', 'NodeUnpublishVolume', { volume_id: volume, target_path: target });
    const listed = async () =>
      ((await h.client.call<{ entries: { volume: Volume }[] }>('controller', 'ListVolumes', {})).answer?.entries ?? [])
        .map((entry) => entry.volume.volume_id)
        .filter((id) => id.startsWith(h.prefix));

    it('answers Identity: a domain-style name, the Controller service, ready', async () => {
      const info = await h.client.call<{ name: string }>('identity', 'GetPluginInfo', {});
      expect(info.answer?.name).toMatch(/^[a-z0-9](?:[a-z0-9.-]{0,61}[a-z0-9])?$/);
      const capabilities = await h.client.call('identity', 'GetPluginCapabilities', {});
      expect(capabilities.answer).toMatchObject({ capabilities: [{ service: { type: 'CONTROLLER_SERVICE' } }] });
      expect((await h.client.call('identity', 'Probe', {})).answer).toEqual({ ready: { value: true } });
    });

    it("creates a volume from the backing's create options, again with the same answer, ALREADY_EXISTS with others", async () => {
      const n = h.name('create');
      const first = await create(n);
      expect(first.error).toBeUndefined();
      expect(first.answer?.volume).toMatchObject({ volume_id: n, volume_context: { backing: h.provider.name } });
      const again = await create(n);
      expect(again.answer, 'a repeated CreateVolume with the same arguments answers the same volume').toEqual(
        first.answer,
      );
      if (h.setup.otherCreateOptions) {
        const other = await create(n, h.parameters(h.setup.otherCreateOptions));
        expect(other.error?.code, 'the same name with other options').toBe(status.ALREADY_EXISTS);
      }
      expect(await listed()).toEqual([n]);
    });

    it('refuses each invalid option set INVALID_ARGUMENT, with its message, and makes nothing', async () => {
      for (const [index, invalid] of (h.setup.invalidOptions ?? []).entries()) {
        const refused = await create(h.name(`invalid-${index}`), h.parameters(invalid.options));
        expect(refused.error?.code, JSON.stringify(invalid.options)).toBe(status.INVALID_ARGUMENT);
        expect(refused.error?.details).toMatch(invalid.error);
      }
      expect(await listed()).toEqual([]);
    });

    it('validates a single-node writer mount, not block access; NOT_FOUND for a volume that does not exist', async () => {
      const n = h.name('validate');
      expect((await create(n)).error).toBeUndefined();
      const confirmed = await h.client.call('controller', 'ValidateVolumeCapabilities', {
        volume_id: n,
        volume_capabilities: [writer],
      });
      expect(confirmed.answer).toMatchObject({ confirmed: { volume_capabilities: [expect.anything()] } });
      const block = await h.client.call('controller', 'ValidateVolumeCapabilities', {
        volume_id: n,
        volume_capabilities: [{ block: {}, access_mode: { mode: 'SINGLE_NODE_WRITER' } }],
      });
      expect(block.answer).toMatchObject({ confirmed: null, message: expect.stringContaining('block') });
      const missing = await h.client.call('controller', 'ValidateVolumeCapabilities', {
        volume_id: h.name('missing'),
        volume_capabilities: [writer],
      });
      expect(missing.error?.code).toBe(status.NOT_FOUND);
    });

    it('publishes with a real bind mount at a target it makes, read-only where asked, and unpublishes', async () => {
      const n = h.name('publish');
      expect((await create(n)).error).toBeUndefined();
      const [a, b] = [h.target('a'), h.target('b')];
      expect((await publish(n, a)).error).toBeUndefined();
      expect(await h.isMounted(a)).toBe(true);
      expect((await publish(n, a)).error, 'a repeated publish at the same target succeeds').toBeUndefined();
      await writeFile(join(a, PROBE_FILE), 'written through the first target\n');

      expect((await publish(n, b, { readonly: true })).error).toBeUndefined();
      expect(await readFile(join(b, PROBE_FILE), 'utf8')).toBe('written through the first target\n');
      await expect(writeFile(join(b, 'refused'), 'x')).rejects.toMatchObject({ code: 'EROFS' });

      for (const target of [a, b]) {
        expect((await unpublish(n, target)).error).toBeUndefined();
        expect(await h.isMounted(target)).toBe(false);
        await expect(stat(target), 'the target is removed').rejects.toMatchObject({ code: 'ENOENT' });
      }
      expect((await unpublish(n, a)).error, 'unpublishing what is not published succeeds').toBeUndefined();

      expect((await publish(n, a)).error).toBeUndefined();
      if (!h.ephemeral) {
        expect(await readFile(join(a, PROBE_FILE), 'utf8'), 'the data outlives its publications').toBe(
          'written through the first target\n',
        );
      }
      expect((await unpublish(n, a)).error).toBeUndefined();
    });

    it('refuses DeleteVolume while published (FAILED_PRECONDITION), deletes after, and again', async () => {
      const n = h.name('delete');
      expect((await create(n)).error).toBeUndefined();
      const target = h.target('held');
      expect((await publish(n, target)).error).toBeUndefined();
      const inUse = await h.client.call('controller', 'DeleteVolume', { volume_id: n });
      expect(inUse.error?.code).toBe(status.FAILED_PRECONDITION);
      expect(await listed()).toEqual([n]);
      expect((await unpublish(n, target)).error).toBeUndefined();
      expect((await h.client.call('controller', 'DeleteVolume', { volume_id: n })).error).toBeUndefined();
      expect(await listed()).toEqual([]);
      expect((await h.client.call('controller', 'DeleteVolume', { volume_id: n })).error).toBeUndefined();
    });

    it('keeps a publication across a plugin restart, and releases it after', async () => {
      const n = h.name('restart');
      expect((await create(n)).error).toBeUndefined();
      const target = h.target('kept');
      expect((await publish(n, target)).error).toBeUndefined();
      await writeFile(join(target, PROBE_FILE), 'before the restart\n');
      await h.restart();
      expect(await h.isMounted(target)).toBe(true);
      expect(await readFile(join(target, PROBE_FILE), 'utf8')).toBe('before the restart\n');
      expect((await publish(n, target)).error, 'the same publish again, after the restart').toBeUndefined();
      const inUse = await h.client.call('controller', 'DeleteVolume', { volume_id: n });
      expect(inUse.error?.code, 'the restarted plugin knows the volume is published').toBe(status.FAILED_PRECONDITION);
      expect((await unpublish(n, target)).error).toBeUndefined();
      expect(await h.isMounted(target)).toBe(false);
      expect((await h.client.call('controller', 'DeleteVolume', { volume_id: n })).error).toBeUndefined();
    });

    it("answers bad input with the spec's codes, and changes nothing", async () => {
      const n = h.name('bad-input');
      const codeOf = async (service: 'controller' | 'node', method: string, request: object) =>
        (await h.client.call(service, method, request)).error?.code;
      expect(await codeOf('controller', 'CreateVolume', { volume_capabilities: [writer] })).toBe(
        status.INVALID_ARGUMENT,
      );
      expect(await codeOf('controller', 'CreateVolume', { name: n, parameters: h.parameters() })).toBe(
        status.INVALID_ARGUMENT,
      );
      expect(await codeOf('controller', 'CreateVolume', { name: n, volume_capabilities: [{}] })).toBe(
        status.INVALID_ARGUMENT,
      );
      expect(await listed()).toEqual([]);
      const target = h.target('bad');
      expect(
        await codeOf('node', 'NodePublishVolume', { volume_id: n, volume_capability: writer, target_path: target }),
      ).toBe(status.NOT_FOUND);
      expect((await create(n)).error).toBeUndefined();
      expect(await codeOf('node', 'NodePublishVolume', { volume_id: n, volume_capability: writer })).toBe(
        status.INVALID_ARGUMENT,
      );
      expect(await codeOf('node', 'NodePublishVolume', { volume_id: n, target_path: target })).toBe(
        status.INVALID_ARGUMENT,
      );
      expect(
        await codeOf('node', 'NodePublishVolume', { volume_id: '', volume_capability: writer, target_path: target }),
      ).toBe(status.INVALID_ARGUMENT);
      expect(await h.isMounted(target)).toBe(false);
      expect(await codeOf('node', 'NodeUnpublishVolume', { volume_id: n, target_path: target })).toBeUndefined();
      expect(await codeOf('controller', 'DeleteVolume', { volume_id: h.name('never-made') })).toBeUndefined();
    });

    const sanity = options.csiSanity ?? process.env.CSI_SANITY;
    const sanityTest = sanity === undefined ? it.skip : it;
    sanityTest(
      `passes csi-sanity with its idempotency checks${sanity === undefined ? ' (give csiSanity or CSI_SANITY to run it)' : ''}`,
      async () => {
        const binary = typeof sanity === 'function' ? await sanity() : (sanity as string);
        const run = await runCsiSanity(binary, {
          ...(await sanityPlaces(h.dir)),
          endpoint: h.endpoint,
          volumeParameters: h.parameters(),
        });
        console.log(`csi-sanity against ${name} behind the stowage CSI plugin: ${sanityCounts(run)}`);
        expectSanityPassed(run);
      },
    );
  });
}
