import type { ProviderDefinition, ProviderId } from '#shared/providers/types.ts';

export { DEFAULT_USAGE_ENDPOINTS } from '#shared/providers/usage-endpoints.ts';

/** A provider definition's part that says where its usage is read. */
type UsageSource = Pick<ProviderDefinition, 'id' | 'usageEndpoint'>;

/**
 * The usage endpoint of each provider in `definitions` (the effective provider definitions, with
 * `KEYFLEET_PROVIDER_OVERRIDES` applied and checked there); a provider not listed has none.
 */
export function usageEndpointsOf(definitions: Iterable<UsageSource>): Readonly<Record<ProviderId, string | undefined>> {
  const result: Record<ProviderId, string | undefined> = {
    claude: undefined,
    codex: undefined,
    gemini: undefined,
    bob: undefined,
    grok: undefined,
  };
  for (const definition of definitions) result[definition.id] = definition.usageEndpoint;
  return result;
}
