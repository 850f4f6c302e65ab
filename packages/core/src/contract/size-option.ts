/**
 * Which create option is a volume's size, declared by a provider whose volumes have one (EBS `size` in GiB), so an
 * adapter that speaks in bytes maps onto it without knowing the backing: CSI's CreateVolume `capacity_range` is
 * rounded up to whole units and set as this option, and the volume's capacity is reported back from it.
 */
export interface SizeOption {
  /** The name of the create option holding the size: an `integer` option of {@link StorageProvider.options}. */
  readonly option: string;
  /** Bytes in one unit of the option: `2 ** 30` for GiB. */
  readonly unitBytes: number;
  /**
   * The sizes, in units, a volume created with `options` (the request's other options, as strings, before parsing)
   * may have, when they depend on other options (an EBS volume type's range). Left out, or answering undefined (an
   * option value the create will refuse anyway), the option spec's own `min` and `max` apply. Pure: no I/O.
   */
  bounds?(options: Readonly<Record<string, string>>): SizeBounds | undefined;
}

/** Inclusive bounds of a size, in the units of its {@link SizeOption}. */
export interface SizeBounds {
  readonly min: number;
  readonly max: number;
}
