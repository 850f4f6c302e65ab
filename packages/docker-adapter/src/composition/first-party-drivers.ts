/**
 * The drivers Stowage ships, by the name they are enabled under in config, and the package each is loaded from.
 * Any other name needs `drivers.<name>.module`.
 */
export const FIRST_PARTY_DRIVERS: Readonly<Record<string, string>> = {
  local: '@stowage/driver-local',
  efs: '@stowage/driver-efs',
  ebs: '@stowage/driver-ebs',
};

/**
 * The default backing when the config names none, as Cloudstor chose: shared where EFS is set up, else relocatable,
 * else local (else the first driver enabled).
 */
export const FIRST_PARTY_PREFERENCE: readonly string[] = ['shared', 'relocatable', 'local'];
