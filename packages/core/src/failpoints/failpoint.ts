/**
 * Failpoints, after etcd's gofail: named places between two steps of an operation where a test can make the process
 * die at once, as `kill -9` or a power cut would, to prove that a restart recovers from a crash at every step.
 *
 * TEST-ONLY setting: `STOWAGE_FAILPOINTS=<name>[,<name>...]` arms the named points; the first one reached kills the
 * process with SIGKILL. It is read from the environment once, when this module loads, rather than from the config:
 * it must work in any process that loads core (the plugin, an embedder's test) before a config exists, and it is
 * no setting an operator should ever find in a config file. Unset, as in production, a failpoint is one lookup in
 * an empty Set.
 */
export const FAILPOINTS_ENV = 'STOWAGE_FAILPOINTS';

const armed: ReadonlySet<string> = parseFailpoints(process.env[FAILPOINTS_ENV]);

/** The names in a `STOWAGE_FAILPOINTS` value: comma-separated, blanks ignored. */
export function parseFailpoints(value: string | undefined): ReadonlySet<string> {
  return new Set(
    (value ?? '')
      .split(',')
      .map((name) => name.trim())
      .filter((name) => name !== ''),
  );
}

/** The points this process armed at start-up (empty unless a test set `STOWAGE_FAILPOINTS`). */
export function armedFailpoints(): readonly string[] {
  return [...armed];
}

/**
 * Kills this process at once with SIGKILL when `name` is armed; does nothing otherwise. SIGKILL rather than an
 * exception or `process.exit`: no `finally`, no exit handler and no buffered write may run, exactly as after a crash.
 * A signal a process sends itself is delivered before `kill(2)` returns, so no code after the call runs.
 */
export function failpoint(name: string): void {
  if (armed.has(name)) process.kill(process.pid, 'SIGKILL');
  hook?.(name);
}

let hook: ((name: string) => void) | undefined;

/**
 * TEST-ONLY: calls `observer` at every failpoint reached (armed or not), in this process, until replaced or
 * cleared with undefined. A model-based test uses it to crash a plugin running in its own process at any step it
 * picks, many times a second, where a real SIGKILL would cost a process start each time. The observer may throw
 * to stop the operation there.
 */
export function setFailpointHook(observer: ((name: string) => void) | undefined): void {
  hook = observer;
}

/**
 * A failpoint function that accepts only the names of `registry`, so a call site cannot name a point the harness
 * does not know. Each package keeps its own registry (the engine's, a driver's) and exports it for the harness.
 */
export function failpointsOf<const Names extends readonly string[]>(_registry: Names): (name: Names[number]) => void {
  return failpoint;
}
