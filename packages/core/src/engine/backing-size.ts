import type { OptionSpecs } from '../contract/define-options.js';
import type { SizeBounds, SizeOption } from '../contract/size-option.js';

/** A backing's {@link SizeOption} with its bounds always answered: the provider's, else the option spec's. */
export interface BackingSize {
  /** The create option holding the size. */
  readonly option: string;
  /** Bytes in one unit of the option. */
  readonly unitBytes: number;
  /** The sizes, in units, a volume with these other create options may have (inclusive). */
  bounds(options: Readonly<Record<string, string>>): SizeBounds;
}

/**
 * Resolves a provider's size declaration against its option specs, so adapters never read specs themselves. A spec
 * without `min` starts at 1 unit (a volume of size 0 holds nothing); without `max`, the largest integer an option takes.
 */
export function backingSize(size: SizeOption, options: OptionSpecs): BackingSize {
  const spec = options.find((o) => o.name === size.option);
  const fallback: SizeBounds = { min: spec?.min ?? 1, max: spec?.max ?? Number.MAX_SAFE_INTEGER };
  return {
    option: size.option,
    unitBytes: size.unitBytes,
    bounds: (values) => size.bounds?.(values) ?? fallback,
  };
}
