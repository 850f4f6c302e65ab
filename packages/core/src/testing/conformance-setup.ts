import type { StorageProvider } from '../contract/storage-provider.js';

/**
 * What a driver's test gives the conformance suite, once per test: a fresh provider over a backend the test may
 * use freely, and the options that make sense for it.
 *
 * Options are given as users type them (strings), in any spelling the provider's options accept: the suite parses
 * them as the engine does (defaults applied, values normalised) and checks the volume reports exactly that back, so
 * whether options with a default are listed makes no difference.
 *
 * What the provider declares in `capabilities` adapts the suite: a provider that declares `ephemeral` (its data does
 * not outlive Unmount) is not asked to keep data across an Unmount, and is checked to serve the volume again instead.
 */
export interface ConformanceSetup {
  /** The provider under test. `init` is called by the engine; it must work again after `close` (a restart). */
  provider: StorageProvider;
  /** Valid create options for this backing (besides `backing`), e.g. { size: '1' } for a block driver. */
  createOptions?: Record<string, string>;
  /**
   * Other valid options that give a different volume config, to prove a conflicting re-create is refused; they must
   * differ from `createOptions` once defaults are applied.
   */
  otherCreateOptions?: Record<string, string>;
  /**
   * Requests the provider must refuse, with the error message pattern expected. Each `options` is the whole option
   * set of the request (besides `backing`), so a missing required option can be tested too. The refusal must be an
   * InvalidArgument StowageError, from the declared option specs or from `validate`.
   */
  invalidOptions?: Array<{ options: Record<string, string>; error: RegExp }>;
  /** Undo whatever setup made (temp dirs, servers). */
  teardown?(): Promise<void>;
}
