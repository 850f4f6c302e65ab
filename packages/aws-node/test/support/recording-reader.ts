import type { MetadataReader } from '../../src/index.js';

/** A reader that records the paths asked, on top of another. */
export function recording(inner: MetadataReader): { reader: MetadataReader; asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    reader: (path) => {
      asked.push(path);
      return inner(path);
    },
  };
}
