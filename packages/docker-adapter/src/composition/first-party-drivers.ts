/**
 * The drivers Stowage ships, by the name they are enabled under in config, and the package each is loaded from.
 * Any other name needs `drivers.<name>.module`.
 */
export const FIRST_PARTY_DRIVERS: Readonly<Record<string, string>> = {
  local: '@stowage/driver-local',
  efs: '@stowage/driver-efs',
  ebs: '@stowage/driver-ebs',
};
