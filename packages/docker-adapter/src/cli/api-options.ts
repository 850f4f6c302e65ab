import type { Argv } from 'yargs';

/**
 * Adds `--api URL` and `--token-file FILE`: the volume commands then talk to a remote node's /v1 API, as `docker -H`
 * talks to a remote daemon. Neither mixes with `--socket` or `--state-dir`, which name this host's plugin and state.
 */
export function withApiOptions<T>(yargs: Argv<T>) {
  return yargs
    .option('api', {
      type: 'string',
      requiresArg: true,
      describe: "A node's HTTP API to manage volumes through instead of this host's plugin (http(s)://host:port)",
    })
    .option('token-file', {
      type: 'string',
      requiresArg: true,
      describe: "File holding the API's bearer token (its http.tokenFile); only with --api",
    })
    .implies('token-file', 'api')
    .conflicts('api', ['socket', 'state-dir']);
}
