import { claudeProfile } from '#shared/profiles/claude.ts';
import { codexProfile } from '#shared/profiles/codex.ts';
import { geminiProfile } from '#shared/profiles/gemini.ts';
import { bobProfile, grokProfile } from '#shared/profiles/others.ts';
import type { CliProfile, ProfileInput } from '#shared/profiles/types.ts';
import type { ProviderId } from '#shared/providers/types.ts';

export type { CliProfile, ProfileFile, ProfileInput } from '#shared/profiles/types.ts';

const BUILDERS: Record<ProviderId, (input: ProfileInput) => CliProfile> = {
  claude: claudeProfile,
  codex: codexProfile,
  gemini: geminiProfile,
  bob: bobProfile,
  grok: grokProfile,
};

/** The CLI profile for the launch's provider and account kind (PROVIDERS.md, "container delivery"). */
export function buildProfile(input: ProfileInput): CliProfile {
  return BUILDERS[input.provider.id](input);
}
