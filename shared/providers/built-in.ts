import { bob } from '#shared/providers/bob.ts';
import { claude } from '#shared/providers/claude.ts';
import { codex } from '#shared/providers/codex.ts';
import { gemini } from '#shared/providers/gemini.ts';
import { grok } from '#shared/providers/grok.ts';
import { PROVIDER_IDS, type ProviderDefinition, type ProviderId } from '#shared/providers/types.ts';

/**
 * The definitions as shipped, before `KEYFLEET_PROVIDER_OVERRIDES`. Code that needs only a field
 * overrides cannot change (`proxy`, `usageApi`) reads it here, without loading the configuration
 * that `#shared/providers/index.ts` reads (the `keyfleet proxy` command runs beside the agent).
 */
export const BUILT_IN_PROVIDERS: Readonly<Record<ProviderId, ProviderDefinition>> = {
  claude,
  codex,
  gemini,
  bob,
  grok,
};

/** Whether `value` names one of the five providers. */
export function isProviderId(value: string): value is ProviderId {
  return (PROVIDER_IDS as readonly string[]).includes(value);
}
