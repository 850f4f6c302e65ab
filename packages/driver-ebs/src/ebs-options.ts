import { StowageError, defineOptions, type CreateRequest, type InferOptions, type SizeOption } from '@stowage/core';

/** The EBS volume types a volume can be created with. */
export const EBS_VOLUME_TYPES = ['gp2', 'gp3', 'io1', 'io2', 'st1', 'sc1', 'standard'] as const;
export type EbsVolumeType = (typeof EBS_VOLUME_TYPES)[number];

/** The type used when `ebstype` is not given: Standard/Magnetic, as Cloudstor did. */
export const DEFAULT_EBS_TYPE: EbsVolumeType = 'standard';

/** File systems the driver makes on a blank volume. */
export const FILESYSTEM_TYPES = ['ext4', 'xfs'] as const;
export type FilesystemType = (typeof FILESYSTEM_TYPES)[number];

/** What EBS accepts per type (GiB, IOPS, MiB/s), from the EBS volume type documentation. */
export interface EbsTypeLimits {
  readonly size: readonly [min: number, max: number];
  /** IOPS bounds and the most IOPS per GiB of size; absent when the type takes no `iops`. */
  readonly iops?: { readonly min: number; readonly max: number; readonly perGiB: number };
  /** Throughput bounds and the most MiB/s per provisioned IOPS; gp3 only. */
  readonly throughput?: { readonly min: number; readonly max: number; readonly perIops: number };
}

export const EBS_TYPE_LIMITS: Readonly<Record<EbsVolumeType, EbsTypeLimits>> = {
  gp2: { size: [1, 16_384] },
  gp3: {
    size: [1, 16_384],
    iops: { min: 3_000, max: 16_000, perGiB: 500 },
    throughput: { min: 125, max: 1_000, perIops: 0.25 },
  },
  io1: { size: [4, 16_384], iops: { min: 100, max: 64_000, perGiB: 50 } },
  io2: { size: [4, 65_536], iops: { min: 100, max: 256_000, perGiB: 1_000 } },
  st1: { size: [125, 16_384] },
  sc1: { size: [125, 16_384] },
  standard: { size: [1, 1_024] },
};

/** The limits of volume type `type`, undefined for a name that is not an EBS type (`toString` included). */
export function limitsOf(type: string): EbsTypeLimits | undefined {
  return Object.hasOwn(EBS_TYPE_LIMITS, type) ? EBS_TYPE_LIMITS[type as EbsVolumeType] : undefined;
}

const largest = (pick: (limits: EbsTypeLimits) => number | undefined): number =>
  Math.max(...Object.values(EBS_TYPE_LIMITS).map((l) => pick(l) ?? 0));

/** A volume's size is its `size` option, in GiB, within the range of its `ebstype`. */
export const EBS_SIZE: SizeOption = {
  option: 'size',
  unitBytes: 2 ** 30,
  bounds: (options) => {
    const limits = limitsOf(options.ebstype ?? DEFAULT_EBS_TYPE);
    return limits && { min: limits.size[0], max: limits.size[1] };
  },
};

/** `snap-` and 8 or 17 hexadecimal digits, as EC2 spells snapshot ids. */
// Longest alternative first: the option check matches the pattern once and needs the whole value.
export const SNAPSHOT_ID = /snap-(?:[0-9a-f]{17}|[0-9a-f]{8})/i;

/**
 * The create options of the relocatable backing. Per-option rules (types, the widest ranges, which type needs or
 * allows what) are declared here for the engine to check; the per-type ranges are {@link validateEbsRequest}'s.
 *
 * @param defaultFsType the driver's `fsType` setting, recorded with each volume that names none.
 */
export function ebsCreateOptions(defaultFsType: FilesystemType) {
  return defineOptions({
    size: {
      type: 'integer',
      description: 'size of the EBS volume in GiB (range depends on ebstype)',
      required: true,
      min: 1,
      max: largest((l) => l.size[1]),
    },
    ebstype: {
      type: 'string',
      description: `EBS volume type (default ${DEFAULT_EBS_TYPE}, i.e. magnetic)`,
      values: EBS_VOLUME_TYPES,
      default: DEFAULT_EBS_TYPE,
    },
    iops: {
      type: 'integer',
      description: 'provisioned IOPS: required for io1 and io2, optional for gp3',
      min: 100,
      max: largest((l) => l.iops?.max),
      required: { option: 'ebstype', oneOf: ['io1', 'io2'] },
      allowedOnlyWhen: { option: 'ebstype', oneOf: ['io1', 'io2', 'gp3'] },
    },
    throughput: {
      type: 'integer',
      description: 'provisioned throughput in MiB/s (gp3 only)',
      min: 125,
      max: largest((l) => l.throughput?.max),
      allowedOnlyWhen: { option: 'ebstype', oneOf: ['gp3'] },
    },
    encrypted: { type: 'boolean', description: 'encrypt the volume at rest', default: false },
    kmskeyid: {
      type: 'string',
      description: 'KMS key (id, alias or ARN) to encrypt with; needs encrypted=true',
      pattern: /[A-Za-z0-9:/_-]{1,256}/,
      patternHint: 'a KMS key id, alias or ARN',
      allowedOnlyWhen: { option: 'encrypted', oneOf: ['true'] },
    },
    snapshot: {
      type: 'string',
      description: 'create the volume from this EBS snapshot',
      pattern: SNAPSHOT_ID,
      patternHint: 'an EBS snapshot id such as snap-0123456789abcdef0',
      // EC2 ids are lower case; `SNAP-...` typed by hand is the same snapshot.
      normalize: (id) => id.toLowerCase(),
    },
    fstype: {
      type: 'string',
      description: 'file system made on the blank volume',
      values: FILESYSTEM_TYPES,
      default: defaultFsType,
    },
  });
}

/** What an EBS create receives, parsed and typed: `size` a number, `ebstype` one of {@link EBS_VOLUME_TYPES}... */
export type EbsOptions = InferOptions<ReturnType<typeof ebsCreateOptions>>;

/**
 * The cross-option rules EBS imposes that option specs cannot declare: sizes per type, IOPS per type and per GiB,
 * throughput per IOPS. Every problem is reported at once, before any API call.
 */
export function validateEbsRequest(request: CreateRequest): void {
  const { options } = request;
  const type = String(options.ebstype ?? DEFAULT_EBS_TYPE);
  const limits = limitsOf(type);
  // The engine refuses an unknown type by the option spec before this runs; an embedder calling this directly is told too.
  if (limits === undefined)
    throw StowageError.invalidArgument(
      `ebstype: must be one of ${EBS_VOLUME_TYPES.join(', ')}, got ${JSON.stringify(type)}`,
    );
  const problems: string[] = [];
  const size = Number(options.size);
  const [minSize, maxSize] = limits.size;
  if (size < minSize || size > maxSize) {
    problems.push(`size: must be between ${minSize} and ${maxSize} GiB for ebstype=${type}, got ${size}`);
  }
  const iops = options.iops === undefined ? undefined : Number(options.iops);
  if (iops !== undefined && limits.iops) {
    const { min, max, perGiB } = limits.iops;
    if (iops < min || iops > max)
      problems.push(`iops: must be between ${min} and ${max} for ebstype=${type}, got ${iops}`);
    else if (iops > size * perGiB) {
      problems.push(
        `iops: at most ${perGiB} per GiB for ebstype=${type}, so at most ${size * perGiB} for size=${size}; got ${iops}`,
      );
    }
  }
  if (options.throughput !== undefined && limits.throughput) {
    const throughput = Number(options.throughput);
    const { min, max, perIops } = limits.throughput;
    // gp3 without iops gets its baseline of 3000 IOPS.
    const effectiveIops = iops ?? limits.iops?.min ?? 0;
    if (throughput < min || throughput > max) {
      problems.push(`throughput: must be between ${min} and ${max} MiB/s for ebstype=${type}, got ${throughput}`);
    } else if (throughput > effectiveIops * perIops) {
      problems.push(
        `throughput: at most ${perIops} MiB/s per IOPS, so at most ${effectiveIops * perIops} with ${effectiveIops} IOPS; got ${throughput}`,
      );
    }
  }
  if (problems.length > 0) throw StowageError.invalidArgument(problems.join('; '));
}
