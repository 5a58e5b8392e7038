import { codexProfile } from '#shared/profiles/codex.ts';
import { buildProfile } from '#shared/profiles/index.ts';
import { type CliProfile, env, file, json, type ProfileFile, type ProfileInput } from '#shared/profiles/types.ts';
import type { ProviderId } from '#shared/providers/types.ts';

/** A workstation profile: files for the home directory, and variables the person exports themselves. */
export interface WorkstationProfile {
  /** Printed as `export NAME=value` lines; never written into shell start-up files. */
  env: Record<string, string>;
  /** `merge`: a JSON settings file whose other keys are the person's own and are kept. */
  files: (ProfileFile & { merge?: boolean })[];
  /** Why the profile looks the way it does, and when to run `keyfleet sync` again. */
  notes: string[];
}

type Input = Omit<ProfileInput, 'taskToken' | 'deliverRefreshToken' | 'model' | 'effort'> & { grant: string };

const until = (epochMs: number | null | undefined): string =>
  epochMs ? new Date(epochMs).toISOString() : 'an unknown time';

/**
 * Claude Code. `.credentials.json` gets the access token with `refreshToken: null`: the CLI would
 * refresh a real one at a hard-coded host, rotating the pooled refresh token, while with none it
 * uses the access token as it is (measured with 2.1.330, expired or not). Its other keys (MCP
 * sign-ins) are the person's and are kept. The same token is also an export line,
 * `CLAUDE_CODE_OAUTH_TOKEN`, for macOS, where the CLI keeps its login in the Keychain.
 */
function claude(input: Input): WorkstationProfile {
  const { tokens, provider } = input;
  const scopes = (tokens?.scope ?? 'user:inference user:profile').split(' ').filter(Boolean);
  const credentials = {
    claudeAiOauth: {
      accessToken: tokens?.access_token,
      refreshToken: null,
      expiresAt: tokens?.expires_at ?? null,
      scopes,
      subscriptionType: null,
    },
  };
  return {
    env: env({
      CLAUDE_CODE_OAUTH_TOKEN: tokens?.access_token,
      ANTHROPIC_BASE_URL: provider.cliBaseUrl,
      // Behind a gateway the CLI would otherwise also send the token to api.anthropic.com.
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: provider.cliBaseUrl ? '1' : undefined,
    }),
    files: [{ ...file('.claude/.credentials.json', json(credentials)), merge: true }],
    notes: [
      `Claude Code gets the access token only, valid until ${until(tokens?.expires_at)}; then run keyfleet sync claude again.`,
      'Its refresh token stays in Keyfleet: Claude Code would refresh it at a fixed Anthropic address, and it rotates.',
    ],
  };
}

/**
 * Codex CLI. `auth.json` carries the access and id tokens and the grant as `refresh_token`; Codex
 * reads its refresh address only from `CODEX_REFRESH_TOKEN_URL_OVERRIDE` (config.toml has no such
 * key), so that is an export line. `config.toml` is written only for a gateway (`cliBaseUrl`).
 */
function codex(input: Input): WorkstationProfile {
  const built = codexProfile({
    ...input,
    taskToken: input.grant,
    deliverRefreshToken: false,
    model: null,
    effort: null,
  });
  const gateway = input.provider.cliBaseUrl !== undefined && input.provider.cliBaseUrl !== '';
  return {
    env: built.env,
    files: built.files.filter((f) => gateway || f.path !== '.codex/config.toml'),
    notes: [
      'Codex refreshes through Keyfleet with the grant (CODEX_REFRESH_TOKEN_URL_OVERRIDE); without that variable it would try OpenAI with a value OpenAI does not know.',
    ],
  };
}

/**
 * Gemini CLI. The access token only (`GOOGLE_GENAI_USE_GCA` + `GOOGLE_CLOUD_ACCESS_TOKEN`), with
 * `selectedType = "oauth-personal"` merged into `settings.json`. Google's refresh tokens do not
 * rotate, so writing one into `oauth_creds.json` would not harm the pool, but it would outlive the
 * grant: revoking the grant could not take it back. So a workstation gets about an hour at a time.
 */
function gemini(input: Input): WorkstationProfile {
  const { tokens, provider } = input;
  return {
    env: env({
      GOOGLE_GENAI_USE_GCA: 'true',
      GOOGLE_CLOUD_ACCESS_TOKEN: tokens?.access_token,
      CODE_ASSIST_ENDPOINT: provider.cliBaseUrl,
    }),
    files: [
      {
        ...file('.gemini/settings.json', json({ security: { auth: { selectedType: 'oauth-personal' } } })),
        merge: true,
      },
    ],
    notes: [
      `Gemini CLI gets the access token only (valid until ${until(tokens?.expires_at)}); run keyfleet sync gemini again after that.`,
      "No refresh token is written to ~/.gemini/oauth_creds.json: Google's do not rotate, but one on a workstation would outlive the grant and could not be revoked by Keyfleet.",
    ],
  };
}

/** Grok CLI: its auth provider command fetches the current access token with the grant. */
function grok(input: Input): WorkstationProfile {
  return {
    env: env({
      KEYFLEET_URL: input.apiUrl,
      KEYFLEET_TASK_TOKEN: input.grant,
      GROK_AUTH_PROVIDER_COMMAND: 'keyfleet token grok',
      GROK_AUTH_PROVIDER_LABEL: 'keyfleet',
      GROK_CLI_CHAT_PROXY_BASE_URL: input.provider.cliBaseUrl,
    }),
    files: [],
    notes: [
      'Grok CLI runs `keyfleet token grok`, which fetches the current access token with the grant (KEYFLEET_TASK_TOKEN) whenever it needs one.',
    ],
  };
}

/** API-key, keyless and Bob accounts: the container profile as it is, variables as export lines. */
function asIs(profile: CliProfile, input: Input): WorkstationProfile {
  const files = profile.files.filter((f) => f.path !== '.claude.json');
  const settings = files.map((f) => (f.path === '.gemini/settings.json' ? { ...f, merge: true } : f));
  const notes =
    input.account.kind === 'oauth'
      ? [`The access token alone is written; valid until ${until(input.tokens?.expires_at)}.`]
      : ['The account uses an API key: keep the export lines out of shell start-up files and history.'];
  return { env: profile.env, files: settings, notes };
}

/** OAuth accounts whose workstation profile differs from the container's (Bob's does not). */
const OAUTH_PROFILES: Partial<Record<ProviderId, (input: Input) => WorkstationProfile>> = {
  claude,
  codex,
  gemini,
  grok,
};

/**
 * The profile `keyfleet sync` writes on a workstation for a grant: like a container's, under the
 * same rule that no pooled rotating refresh token leaves the vault, but without the container's
 * switches (onboarding, outside traffic, model and effort), which are the person's own business.
 */
export function workstationProfile(input: Input): WorkstationProfile {
  const oauth = input.account.kind === 'oauth' ? OAUTH_PROFILES[input.provider.id] : undefined;
  if (oauth) return oauth(input);
  const built = buildProfile({
    ...input,
    taskToken: input.grant,
    deliverRefreshToken: false,
    model: null,
    effort: null,
  });
  return asIs(built, input);
}
