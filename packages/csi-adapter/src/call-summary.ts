/** What identifies one CSI call in the log: the volume, the paths and the access modes the CO asked for. */
export interface CallSummary {
  readonly volume_id?: string;
  readonly name?: string;
  readonly node_id?: string;
  readonly target_path?: string;
  readonly staging_target_path?: string;
  readonly access_modes?: readonly string[];
}

const IDENTIFYING_FIELDS = ['volume_id', 'name', 'node_id', 'target_path', 'staging_target_path'] as const;

/**
 * The identifying fields of a CSI request, picked one by one: a request also carries `secrets` (credentials) and
 * free-form `parameters` and contexts, none of which belongs in a log. What an orchestrator actually sends (Swarm's
 * call sequence, its access modes) is otherwise invisible from outside the plugin.
 */
export function callSummary(request: unknown): CallSummary {
  if (typeof request !== 'object' || request === null) return {};
  const fields = request as Record<string, unknown>;
  const summary: Record<string, unknown> = {};
  for (const field of IDENTIFYING_FIELDS) {
    const value = fields[field];
    if (typeof value === 'string' && value !== '') summary[field] = value;
  }
  const capabilities = [
    fields.volume_capability,
    ...(Array.isArray(fields.volume_capabilities) ? fields.volume_capabilities : []),
  ];
  const modes = capabilities
    .map((capability) => (capability as { access_mode?: { mode?: unknown } } | null | undefined)?.access_mode?.mode)
    .filter((mode): mode is string => typeof mode === 'string');
  if (modes.length > 0) summary.access_modes = modes;
  return summary;
}
