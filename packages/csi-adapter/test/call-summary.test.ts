import { describe, expect, it } from 'vitest';
import { callSummary } from '../src/call-summary.js';

describe('callSummary: what a CSI call is logged as', () => {
  it("keeps a NodePublish's volume, target and access mode, and none of its secrets or contexts", () => {
    const summary = callSummary({
      volume_id: 'swarm-data',
      target_path: '/data/published/k3v9x',
      staging_target_path: '',
      volume_capability: {
        mount: { fs_type: '', mount_flags: [] },
        access_type: 'mount',
        access_mode: { mode: 'SINGLE_NODE_WRITER' },
      },
      secrets: { password: 'hunter2' },
      volume_context: { backing: 'local' },
      publish_context: {},
      readonly: false,
    });
    expect(summary).toEqual({
      volume_id: 'swarm-data',
      target_path: '/data/published/k3v9x',
      access_modes: ['SINGLE_NODE_WRITER'],
    });
    expect(JSON.stringify(summary)).not.toContain('hunter2');
  });

  it("keeps a CreateVolume's name and every access mode asked for, not its parameters", () => {
    const summary = callSummary({
      name: 'swarm-data',
      parameters: { backing: 'local', token: 'sensitive' },
      volume_capabilities: [
        { access_type: 'mount', access_mode: { mode: 'SINGLE_NODE_WRITER' } },
        { access_type: 'mount', access_mode: { mode: 'SINGLE_NODE_READER_ONLY' } },
      ],
      secrets: { key: 'sensitive' },
    });
    expect(summary).toEqual({ name: 'swarm-data', access_modes: ['SINGLE_NODE_WRITER', 'SINGLE_NODE_READER_ONLY'] });
  });

  it('is empty for a request without identifying fields (Probe, GetPluginInfo) or no request at all', () => {
    expect(callSummary({})).toEqual({});
    expect(callSummary(undefined)).toEqual({});
    expect(callSummary({ volume_id: 42, volume_capability: null })).toEqual({});
  });
});
