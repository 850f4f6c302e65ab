import { CsiError } from './csi-error.js';

// The spec's rule for GetPluginInfo's name: domain name notation, 63 characters at most, alphanumerics at both ends.
const PLUGIN_NAME = /^[a-zA-Z0-9](?:[a-zA-Z0-9.-]{0,61}[a-zA-Z0-9])?$/;

/** The plugin name for a default backing: `stowage.local`, `stowage.ebs`. */
export function defaultPluginName(backing: string): string {
  return `stowage.${backing.toLowerCase().replace(/[^a-z0-9.-]/g, '-')}`;
}

/** Throws unless `name` is a plugin name the spec admits. */
export function validatePluginName(name: string): string {
  if (!PLUGIN_NAME.test(name)) {
    throw CsiError.invalidArgument(
      `invalid CSI plugin name ${JSON.stringify(name)}: at most 63 letters, digits, '.' and '-', ` +
        'starting and ending with a letter or digit (domain name notation)',
    );
  }
  return name;
}
