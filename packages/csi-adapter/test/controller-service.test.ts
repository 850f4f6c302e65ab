import { status } from '@grpc/grpc-js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ControllerService } from '../src/controller-service.js';
import { OperationsInFlight } from '../src/operations-in-flight.js';
import { blockCapability, mountCapability } from './support/capabilities.js';
import { expectCode } from './support/expect-code.js';
import { createRequest } from './support/requests.js';
import { FakeHost } from './support/fake-host.js';
import { type LocalEngine, startLocalEngine } from './support/local-engine.js';

describe('ControllerService on the local backing', () => {
  let local: LocalEngine;
  let controller: ControllerService;

  beforeEach(async () => {
    local = await startLocalEngine(new FakeHost());
    controller = new ControllerService(local.stowage.engine, new OperationsInFlight());
  });
  afterEach(() => local.dispose());

  describe('CreateVolume', () => {
    it('creates the volume through the engine, with its options, and reports capacity unknown (0)', async () => {
      const answer = await controller.createVolume(createRequest({ parameters: { mode: '0700' } }));
      expect(answer.volume).toEqual({ volume_id: 'vol1', capacity_bytes: '0', volume_context: { backing: 'local' } });
      const volume = await local.stowage.engine.get('vol1');
      expect(volume?.options.mode).toBe('0700');
    });

    it('answers a repeated create with compatible arguments as the first one', async () => {
      const first = await controller.createVolume(createRequest({ parameters: { mode: '0700' } }));
      const again = await controller.createVolume(createRequest({ parameters: { mode: '0700', backing: 'local' } }));
      expect(again).toEqual(first);
    });

    it('answers ALREADY_EXISTS for the same name with other parameters, and leaves the volume as it was', async () => {
      await controller.createVolume(createRequest({ parameters: { mode: '0700' } }));
      await expectCode(controller.createVolume(createRequest({ parameters: { mode: '0755' } })), status.ALREADY_EXISTS);
      expect((await local.stowage.engine.get('vol1'))?.options.mode).toBe('0700');
    });

    it.each([
      ['no name', createRequest({ name: '' })],
      ['no capabilities', createRequest({ volume_capabilities: [] })],
      [
        'a capability without access mode',
        createRequest({ volume_capabilities: [{ ...mountCapability(), access_mode: null }] }),
      ],
      [
        'a capability without access type',
        createRequest({ volume_capabilities: [{ access_mode: { mode: 'SINGLE_NODE_WRITER' } }] }),
      ],
      ['block access on a directory backing', createRequest({ volume_capabilities: [blockCapability()] })],
      [
        'multi-node access on the local backing',
        createRequest({ volume_capabilities: [mountCapability('MULTI_NODE_MULTI_WRITER')] }),
      ],
      ['an unknown option', createRequest({ parameters: { colour: 'blue' } })],
      ['an unknown backing', createRequest({ parameters: { backing: 'tape' } })],
      ['a name the engine refuses', createRequest({ name: '../etc' })],
      [
        'a limit below the required bytes',
        createRequest({ capacity_range: { required_bytes: '2048', limit_bytes: '1024' } }),
      ],
      ['a content source', createRequest({ volume_content_source: { volume: { volume_id: 'x' }, type: 'volume' } })],
    ])('answers INVALID_ARGUMENT for %s, and creates nothing', async (_what, request) => {
      await expectCode(controller.createVolume(request), status.INVALID_ARGUMENT);
      expect(await local.stowage.engine.list()).toEqual([]);
    });

    it('answers ABORTED while another operation on the same volume is in flight, and the first one completes', async () => {
      const first = controller.createVolume(createRequest());
      await expectCode(controller.deleteVolume({ volume_id: 'vol1', secrets: {} }), status.ABORTED);
      await expectCode(controller.createVolume(createRequest({ parameters: { mode: '0700' } })), status.ABORTED);
      // The same create again (a CO's retry) joins the one under way and answers as it does.
      const retried = controller.createVolume(createRequest());
      expect(await retried).toEqual(await first);
      expect(await local.stowage.engine.get('vol1')).toBeDefined();
      // Free again once the first is done.
      await controller.createVolume(createRequest());
    });
  });

  describe('DeleteVolume', () => {
    it('deletes the volume, and a second delete succeeds too', async () => {
      await controller.createVolume(createRequest());
      await controller.deleteVolume({ volume_id: 'vol1', secrets: {} });
      expect(await local.stowage.engine.get('vol1')).toBeUndefined();
      await controller.deleteVolume({ volume_id: 'vol1', secrets: {} });
    });

    it('succeeds for an id no volume could have', async () => {
      await controller.deleteVolume({ volume_id: 'not/a volume', secrets: {} });
    });

    it('answers INVALID_ARGUMENT without a volume id', async () => {
      await expectCode(controller.deleteVolume({ volume_id: '', secrets: {} }), status.INVALID_ARGUMENT);
    });

    it('answers FAILED_PRECONDITION for a volume in use on this node, and keeps it', async () => {
      await controller.createVolume(createRequest());
      await local.stowage.engine.mount('vol1', 'someone');
      await expectCode(controller.deleteVolume({ volume_id: 'vol1', secrets: {} }), status.FAILED_PRECONDITION);
      expect(await local.stowage.engine.get('vol1')).toBeDefined();
    });
  });

  describe('ValidateVolumeCapabilities', () => {
    const request = (volume_id: string, caps = [mountCapability()], parameters: Record<string, string> = {}) => ({
      volume_id,
      volume_context: {},
      volume_capabilities: caps,
      parameters,
      secrets: {},
      mutable_parameters: {},
    });

    it('confirms what the backing supports, echoing the capabilities', async () => {
      await controller.createVolume(createRequest());
      const answer = await controller.validateVolumeCapabilities(
        request('vol1', [mountCapability('SINGLE_NODE_READER_ONLY')]),
      );
      expect(answer.confirmed?.volume_capabilities).toEqual([mountCapability('SINGLE_NODE_READER_ONLY')]);
    });

    it('does not confirm an access mode the backing cannot give, and says why', async () => {
      await controller.createVolume(createRequest());
      const answer = await controller.validateVolumeCapabilities(
        request('vol1', [mountCapability('MULTI_NODE_MULTI_WRITER')]),
      );
      expect(answer.confirmed).toBeUndefined();
      expect(answer.message).toContain('MULTI_NODE_MULTI_WRITER');
    });

    it('does not confirm parameters the volume was not made with', async () => {
      await controller.createVolume(createRequest({ parameters: { mode: '0700' } }));
      const same = await controller.validateVolumeCapabilities(
        request('vol1', undefined, { mode: '0700', backing: 'local' }),
      );
      expect(same.confirmed).toBeDefined();
      const other = await controller.validateVolumeCapabilities(request('vol1', undefined, { mode: '0755' }));
      expect(other.confirmed).toBeUndefined();
      expect(other.message).toContain('mode=0700');
    });

    it('answers NOT_FOUND for a missing volume and INVALID_ARGUMENT for missing fields', async () => {
      await expectCode(controller.validateVolumeCapabilities(request('nope')), status.NOT_FOUND);
      await expectCode(controller.validateVolumeCapabilities(request('')), status.INVALID_ARGUMENT);
      await controller.createVolume(createRequest());
      await expectCode(controller.validateVolumeCapabilities(request('vol1', [])), status.INVALID_ARGUMENT);
    });
  });

  describe('ListVolumes', () => {
    it('pages through every volume once', async () => {
      for (const name of ['c', 'a', 'b']) await controller.createVolume(createRequest({ name }));
      const first = await controller.listVolumes({ max_entries: 2, starting_token: '' });
      expect(first.entries?.map((e) => e.volume?.volume_id)).toEqual(['a', 'b']);
      const second = await controller.listVolumes({ max_entries: 2, starting_token: first.next_token ?? '' });
      expect(second.entries?.map((e) => e.volume?.volume_id)).toEqual(['c']);
      expect(second.next_token).toBe('');
    });
  });
});
