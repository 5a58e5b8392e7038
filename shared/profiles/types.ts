import type { Account } from '#shared/accounts/model.ts';
import type { ProviderDefinition } from '#shared/providers/types.ts';
import type { StoredTokens } from '#shared/vault/tokens.ts';

/** A file for the agent's home directory. `mode` is always 0600 (384). */
export interface ProfileFile {
  path: string;
  mode: number;
  content: string;
}

/** What a container receives when it redeems its ticket: variables and files for the agent CLI. */
export interface CliProfile {
  env: Record<string, string>;
  files: ProfileFile[];
}

export interface ProfileInput {
  provider: ProviderDefinition;
  account: Account;
  /** OAuth accounts: the pooled account's current tokens. */
  tokens: StoredTokens | undefined;
  /** API-key accounts: the key. */
  apiKey: string | undefined;
  /** Bound to the launch; what the container uses to come back to Keyfleet. */
  taskToken: string;
  /** Keyfleet's API base URL as containers reach it. */
  apiUrl: string;
  model: string | null;
  effort: string | null;
  /** Gemini: the task outlives the access token, so the (non-rotating) refresh token goes along. */
  deliverRefreshToken: boolean;
  now: number;
}

export const FILE_MODE = 0o600;

export function file(path: string, content: string): ProfileFile {
  return { path, mode: FILE_MODE, content };
}

export function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** Drops variables whose value is absent. */
export function env(entries: Record<string, string | null | undefined>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(entries).filter((e): e is [string, string] => typeof e[1] === 'string' && e[1] !== ''),
  );
}
