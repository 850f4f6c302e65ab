import type { ProviderVolume, VolumeHandle } from './storage-provider.js';

/**
 * What a provider knew of each {@link ProviderVolume} it answered (the backend's own record behind it: an EC2 volume,
 * an access point), found again from a {@link VolumeHandle}. The engine hands a Mount or a Remove the very answer
 * inspect gave under the volume's lock, so a provider that remembered its answers acts on what it described then
 * instead of asking its backend a second time, and one that did not (a remount at start-up, a handle a test made)
 * looks the volume up as before.
 *
 * Answers are held weakly, by object: one the engine no longer holds is forgotten with it, and nothing is ever
 * answered for a volume the provider did not describe itself.
 */
export class VolumeAnswers<T> {
  private readonly known = new WeakMap<ProviderVolume, T>();

  /** `volume`, remembered as described from `record`. */
  answer<V extends ProviderVolume>(volume: V, record: T): V {
    this.known.set(volume, record);
    return volume;
  }

  /** The record the handle's volume was described from; undefined when it has none, or one this did not answer. */
  of(handle: VolumeHandle): T | undefined {
    return handle.volume && this.known.get(handle.volume);
  }
}
