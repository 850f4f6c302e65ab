// Writes the managed plugin's config.json: the template here, plus one settable env entry for every setting of
// every first-party driver, read from the drivers themselves in the deployed tree. Docker refuses
// `docker plugin set` for a variable config.json does not declare, so a setting missing here is unusable: the
// adapter's own variables (its config sections': the socket, the holds, the HTTP ops endpoint) have no description
// to generate one from, so a volume plugin's template must declare each of them, and the build fails naming any it
// lacks. The same script completes the CSI plugin's template (packaging/csi-plugin).
//
//   node plugin-config.mjs <template config.json> <deployed /opt/stowage> <output config.json>
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [template, deployed, output] = process.argv.slice(2);
if (!template || !deployed || !output) {
  console.error('usage: node plugin-config.mjs <template config.json> <deployed /opt/stowage> <output config.json>');
  process.exit(2);
}

const load = (relative) => import(pathToFileURL(join(deployed, relative)).href);
const { driverSettingEnvName } = await load('node_modules/@stowage/core/dist/index.js');
const { FIRST_PARTY_DRIVERS } = await load('dist/composition/first-party-drivers.js');
const { CLI_SECTIONS } = await load('dist/cli/cli-context.js');

const config = JSON.parse(await readFile(template, 'utf8'));
const declared = new Set(config.env.map((entry) => entry.name));
// The adapter's sections configure `stowage serve`: the volume plugin's socket and holds (`docker`) and the ops
// endpoint (`http`). The CSI plugin's `stowage csi` reads the ops endpoint's only, so its template declares no
// `docker` setting: a setting that does nothing misleads.
const servesVolumeDriver = config.interface.types.includes('docker.volumedriver/1.0');
const undeclared = (servesVolumeDriver ? Object.values(CLI_SECTIONS) : [CLI_SECTIONS.http])
  .flatMap((section) => section.envNames)
  .filter((variable) => !declared.has(variable));
if (undeclared.length > 0) {
  console.error(`${template} declares no env entry for ${undeclared.join(', ')}: add one (name, description, value)`);
  process.exit(1);
}
for (const [name, pkg] of Object.entries(FIRST_PARTY_DRIVERS)) {
  const { driver } = await load(join('node_modules', pkg, 'dist/index.js'));
  for (const setting of driver.settings) {
    const variable = driverSettingEnvName(name, setting.name);
    if (declared.has(variable)) continue; // the template's own wording wins
    declared.add(variable);
    config.env.push({
      name: variable,
      description: `${driver.name}: ${setting.description}`,
      settable: ['value'],
      value: setting.default === undefined || setting.secret ? '' : String(setting.default),
    });
  }
}
await writeFile(output, `${JSON.stringify(config, null, 2)}\n`);
console.log(`${output}: ${config.env.length} env entries`);
