import type { Account } from '#shared/accounts/model.ts';
import { loadProviderState } from '#shared/accounts/state.ts';
import { ConflictError, PayloadTooLargeError, ProviderNotConfiguredError, UpstreamError } from '#shared/errors.ts';
import { cleanCommitMessage, cleanTaskName } from '#shared/helpers/clean.ts';
import {
  COMMIT_MESSAGE_SYSTEM,
  commitMessagePrompt,
  TASK_NAME_SYSTEM,
  taskNamePrompt,
} from '#shared/helpers/prompts.ts';
import { logger } from '#shared/log/logger.ts';
import { outboundFailure, outboundRequest } from '#shared/net/outbound.ts';
import { apiRequest, generatedText } from '#shared/providers/api.ts';
import { getProvider, listProviders } from '#shared/providers/index.ts';
import type { ProviderDefinition } from '#shared/providers/types.ts';
import { readSettings } from '#shared/settings/settings.ts';
import { getProviderSettings } from '#shared/settings/store.ts';
import { readSecret } from '#shared/vault/vault.ts';

export const MAX_INSTRUCTIONS_BYTES = 8 * 1024;
export const MAX_DIFF_BYTES = 48 * 1024;
const TIMEOUT_MS = 20_000;

interface Target {
  provider: ProviderDefinition;
  account: Account;
  apiKey: string;
  model: string;
}

/**
 * The helpers use the server's default agent (settings), not a task's, and that provider's API-key
 * account: the active one if it is an API-key account, else the most recently added one.
 */
async function target(): Promise<Target> {
  const { defaultAgent } = await readSettings();
  const provider = getProvider(defaultAgent);
  if (!provider.helpers || !provider.helperModel) {
    const names = listProviders()
      .filter((p) => p.helpers)
      .map((p) => p.name.replace(/ \(.*\)$/, ''));
    throw new ConflictError(
      `The default agent is ${provider.name}; helpers support ${listed(names)}. Change defaultAgent in /v1/settings.`,
    );
  }
  const state = await loadProviderState(provider.id);
  const keys = state.accounts.filter((a) => a.owner === null && a.kind === 'api_key' && a.secretName);
  const active = keys.find((a) => a.id === state.settings.activeAccountId);
  const account = active ?? keys.at(-1);
  if (!account?.secretName) {
    throw new ProviderNotConfiguredError(
      `Helpers need a ${provider.name} API-key account: add one under /v1/providers/${provider.id}/accounts.`,
    );
  }
  const apiKey = String((await readSecret(account.secretName)).value.api_key ?? '');
  const settings = await getProviderSettings(provider.id);
  return { provider, account, apiKey, model: settings.model ?? provider.helperModel };
}

/** "A, B and C". */
function listed(names: string[]): string {
  return names.length < 2 ? (names[0] ?? 'no provider') : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;
}

async function ask(
  system: string,
  prompt: string,
  maxTokens: number,
): Promise<{ text: string; provider: ProviderDefinition }> {
  const t = await target();
  const call = apiRequest(
    { provider: t.provider, endpoint: t.account.endpoint, apiKey: t.apiKey },
    { kind: 'generate', model: t.model, system, prompt, maxTokens },
  );
  if (!call) throw new ProviderNotConfiguredError(`${t.provider.name} has no API endpoint for the helpers.`);
  let status: number;
  let text: string;
  try {
    const response = await outboundRequest(call.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', ...call.headers },
      body: JSON.stringify(call.body),
      timeoutMs: TIMEOUT_MS,
    });
    status = response.status;
    text = response.body;
  } catch (error) {
    // The caller gets a fixed phrase; socket and TLS text (addresses, ports, certificates) stays in the log.
    const failure = outboundFailure(error);
    logger.warn('helper call failed', { provider: t.provider.id, failure, error });
    throw new UpstreamError(`${t.provider.name} could not be reached for the helper (${failure}); try again.`);
  }
  if (status < 200 || status >= 300) {
    throw new UpstreamError(`${t.provider.name} answered HTTP ${status} to the helper request.`);
  }
  try {
    return { text: generatedText(t.provider.apiDialect, JSON.parse(text)), provider: t.provider };
  } catch {
    throw new UpstreamError(`${t.provider.name} sent an answer the helper could not read.`);
  }
}

function capped(value: string, max: number, what: string): void {
  const bytes = Buffer.byteLength(value);
  if (bytes > max) throw new PayloadTooLargeError(`${what} is ${bytes} bytes; the limit is ${max}.`);
}

/** A short task name for `instructions`, from the default agent's provider (`payload_too_large` over 8 KiB). */
export async function taskName(instructions: string): Promise<string> {
  capped(instructions, MAX_INSTRUCTIONS_BYTES, 'instructions');
  const { text, provider } = await ask(TASK_NAME_SYSTEM, taskNamePrompt(instructions), 60);
  const name = cleanTaskName(text);
  if (!name) throw new UpstreamError(`${provider.name} returned no task name.`);
  return name;
}

/** A commit message for `diff`, from the default agent's provider (`payload_too_large` over 48 KiB). */
export async function commitMessage(diff: string): Promise<string> {
  capped(diff, MAX_DIFF_BYTES, 'diff');
  const { text, provider } = await ask(COMMIT_MESSAGE_SYSTEM, commitMessagePrompt(diff), 400);
  const message = cleanCommitMessage(text);
  if (!message) throw new UpstreamError(`${provider.name} returned no commit message.`);
  return message;
}
