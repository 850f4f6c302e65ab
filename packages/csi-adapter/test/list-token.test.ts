import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { page, tokenAfter } from '../src/list-token.js';
import { toCsiFailure } from '../src/csi-error.js';

function codeOf(run: () => unknown): status | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    return toCsiFailure(error).code;
  }
}

describe('ListVolumes pages', () => {
  const names = ['e', 'b', 'a', 'd', 'c'];

  it('lists everything sorted, with no next token, when max_entries is 0', () => {
    expect(page(names, '', 0)).toEqual({ names: ['a', 'b', 'c', 'd', 'e'], nextToken: '' });
  });

  it('walks pages that together hold every volume once', () => {
    const seen: string[] = [];
    let token = '';
    do {
      const next = page(names, token, 2);
      expect(next.names.length).toBeLessThanOrEqual(2);
      seen.push(...next.names);
      token = next.nextToken;
    } while (token !== '');
    expect(seen).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('continues after a token whose volume was deleted since, without repeating or skipping the rest', () => {
    const first = page(names, '', 2);
    expect(first.names).toEqual(['a', 'b']);
    const afterDelete = page(['a', 'c', 'd', 'e', 'aa'], first.nextToken, 0);
    expect(afterDelete.names).toEqual(['c', 'd', 'e']);
  });

  it('gives no next token for a last page that is exactly full', () => {
    expect(page(['a', 'b'], '', 2)).toEqual({ names: ['a', 'b'], nextToken: '' });
    expect(page(names, tokenAfter('c'), 2)).toEqual({ names: ['d', 'e'], nextToken: '' });
  });

  it('answers ABORTED for a token it never issued (the spec code csi-sanity checks)', () => {
    expect(codeOf(() => page(names, 'invalid-token', 0))).toBe(status.ABORTED);
    expect(codeOf(() => page(names, 'after:', 0))).toBe(status.ABORTED);
  });

  it('answers INVALID_ARGUMENT for negative max_entries', () => {
    expect(codeOf(() => page(names, '', -1))).toBe(status.INVALID_ARGUMENT);
  });
});
