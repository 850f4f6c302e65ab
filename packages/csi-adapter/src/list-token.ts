import { CsiError } from './csi-error.js';

// A token names the last volume of the page it ends, not a position: volumes created or deleted between pages
// shift positions, while names keep their order, so no volume is listed twice and a deleted one does not break it.
const PREFIX = 'after:';

/** The token that continues a listing after `lastName`. */
export function tokenAfter(lastName: string): string {
  return `${PREFIX}${lastName}`;
}

/** The name a listing continues after, or undefined for a listing from the start; ABORTED (per spec) for a token we never issued. */
export function nameAfter(token: string): string | undefined {
  if (token === '') return undefined;
  if (!token.startsWith(PREFIX) || token.length === PREFIX.length) {
    throw CsiError.aborted(
      `starting_token ${JSON.stringify(token)} is not one this plugin issued; list from the start`,
    );
  }
  return token.slice(PREFIX.length);
}

/** One page of `names` (sorted here), from after `startingToken`, at most `maxEntries` (0: all), with the next token. */
export function page(
  names: readonly string[],
  startingToken: string,
  maxEntries: number,
): { names: string[]; nextToken: string } {
  if (!Number.isInteger(maxEntries) || maxEntries < 0) {
    throw CsiError.invalidArgument(`max_entries must not be negative, got ${maxEntries}`);
  }
  const after = nameAfter(startingToken);
  const sorted = [...names].sort();
  const rest = after === undefined ? sorted : sorted.filter((name) => name > after);
  if (maxEntries === 0 || rest.length <= maxEntries) return { names: rest, nextToken: '' };
  const taken = rest.slice(0, maxEntries);
  return { names: taken, nextToken: tokenAfter(taken[taken.length - 1] as string) };
}
