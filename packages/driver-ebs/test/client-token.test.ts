import { describe, expect, it } from 'vitest';
import { clientToken } from '../src/client-token.js';
import { stackIdFor } from '../src/index.js';

describe('clientToken', () => {
  it('is the same on every node for one cluster, name and generation, and fits EC2 (64 ASCII characters)', () => {
    const token = clientToken('cluster-a', 'db1');
    expect(token).toBe(clientToken('cluster-a', 'db1', 0));
    expect(token).toMatch(/^[0-9a-f]{64}$/);
  });

  it('differs per cluster, per name and per generation', () => {
    const tokens = new Set([
      clientToken('cluster-a', 'db1'),
      clientToken('cluster-b', 'db1'),
      clientToken('cluster-a', 'db2'),
      clientToken('cluster-a', 'db1', 1),
      clientToken('cluster-a', 'db1', 2),
      // No concatenation ambiguity between cluster and name.
      clientToken('cluster-ad', 'b1'),
    ]);
    expect(tokens.size).toBe(6);
  });

  it('refuses a negative or fractional generation', () => {
    expect(() => clientToken('c', 'n', -1)).toThrow(RangeError);
    expect(() => clientToken('c', 'n', 1.5)).toThrow(RangeError);
  });
});

describe('stackIdFor', () => {
  it('is the md5 hex of the cluster identity, as Cloudstor tagged StackID', () => {
    expect(stackIdFor('arn:aws:cloudformation:us-west-2:123:stack/swarm/guid')).toMatch(/^[0-9a-f]{32}$/);
    expect(stackIdFor('')).toBe('d41d8cd98f00b204e9800998ecf8427e');
  });
});
