import type { Account } from '#shared/accounts/model.ts';
import { getProviderSettings, loadProviderState } from '#shared/accounts/store.ts';
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
import { getProvider } from '#shared/providers/index.ts';
import type { ProviderDefinition } from '#shared/providers/types.ts';
import { readSettings } from '#shared/settings/settings.ts';
import { readSecret } from '#shared/vault/vault.ts';

export const MAX_INSTRUCTIONS_BYTES = 8 * 1024;
export const MAX_DIFF_BYTES = 48 * 1024;
const TIMEOUT_MS = 20_000;

/** Used when the provider has no model in settings. */
export const DEFAULT_HELPER_MODELS: Record<'claude' | 'codex' | 'gemini', string> = {
  claude: 'claude-haiku-4-5',
  codex: 'gpt-5-mini',
  gemini: 'gemini-2.5-flash',
};

interface Target {
  provider: ProviderDefinition & { id: 'claude' | 'codex' | 'gemini' };
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
  if (provider.id !== 'claude' && provider.id !== 'codex' && provider.id !== 'gemini') {
    throw new ConflictError(
      `The default agent is ${provider.name}; helpers support Claude, Codex and Gemini. Change defaultAgent in /v1/settings.`,
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
  return {
    provider: provider as Target['provider'],
    account,
    apiKey,
    model: settings.model ?? DEFAULT_HELPER_MODELS[provider.id],
  };
}

interface Call {
  url: URL;
  headers: Record<string, string>;
  body: unknown;
  read: (answer: unknown) => string;
}

function base(t: Target, fallback: string): string {
  return (t.account.endpoint?.baseUrl ?? t.provider.apiBaseUrl ?? fallback).replace(/\/+$/, '');
}

/** The provider's own API, as the account's endpoint serves it. */
function request(t: Target, system: string, prompt: string, maxTokens: number): Call {
  const apiVersion = t.account.endpoint?.apiVersion;
  if (t.provider.id === 'claude') {
    return {
      url: new URL(`${base(t, 'https://api.anthropic.com')}/v1/messages`),
      headers: { 'x-api-key': t.apiKey, 'anthropic-version': '2023-06-01' },
      body: { model: t.model, max_tokens: maxTokens, system, messages: [{ role: 'user', content: prompt }] },
      read: (answer) =>
        ((answer as { content?: { type: string; text?: string }[] }).content ?? [])
          .filter((c) => c.type === 'text')
          .map((c) => c.text ?? '')
          .join(''),
    };
  }
  if (t.provider.id === 'codex') {
    const url = new URL(`${base(t, 'https://api.openai.com/v1')}/responses`);
    if (apiVersion) url.searchParams.set('api-version', apiVersion);
    const azure = t.account.endpoint?.type === 'azure';
    return {
      url,
      headers: azure ? { 'api-key': t.apiKey } : { authorization: `Bearer ${t.apiKey}` },
      body: { model: t.model, instructions: system, input: prompt, max_output_tokens: maxTokens, store: false },
      read: (answer) => {
        const a = answer as {
          output_text?: string;
          output?: { type: string; content?: { type: string; text?: string }[] }[];
        };
        if (typeof a.output_text === 'string') return a.output_text;
        return (a.output ?? [])
          .filter((o) => o.type === 'message')
          .flatMap((o) => o.content ?? [])
          .filter((c) => c.type === 'output_text')
          .map((c) => c.text ?? '')
          .join('');
      },
    };
  }
  const url = new URL(
    `${base(t, 'https://generativelanguage.googleapis.com')}/v1beta/models/${encodeURIComponent(t.model)}:generateContent`,
  );
  if (apiVersion) url.searchParams.set('api-version', apiVersion);
  return {
    url,
    headers: { 'x-goog-api-key': t.apiKey },
    body: {
      systemInstruction: { parts: [{ text: system }] },
      contents: [{ role: 'user', parts: [{ text: prompt }] }],
      generationConfig: { maxOutputTokens: maxTokens },
    },
    read: (answer) =>
      (
        (answer as { candidates?: { content?: { parts?: { text?: string }[] } }[] }).candidates?.[0]?.content?.parts ??
        []
      )
        .map((p) => p.text ?? '')
        .join(''),
  };
}

async function ask(
  system: string,
  prompt: string,
  maxTokens: number,
): Promise<{ text: string; provider: ProviderDefinition }> {
  const t = await target();
  const call = request(t, system, prompt, maxTokens);
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
    return { text: call.read(JSON.parse(text)), provider: t.provider };
  } catch {
    throw new UpstreamError(`${t.provider.name} sent an answer the helper could not read.`);
  }
}

function capped(value: string, max: number, what: string): void {
  const bytes = Buffer.byteLength(value);
  if (bytes > max) throw new PayloadTooLargeError(`${what} is ${bytes} bytes; the limit is ${max}.`);
}

export async function taskName(instructions: string): Promise<string> {
  capped(instructions, MAX_INSTRUCTIONS_BYTES, 'instructions');
  const { text, provider } = await ask(TASK_NAME_SYSTEM, taskNamePrompt(instructions), 60);
  const name = cleanTaskName(text);
  if (!name) throw new UpstreamError(`${provider.name} returned no task name.`);
  return name;
}

export async function commitMessage(diff: string): Promise<string> {
  capped(diff, MAX_DIFF_BYTES, 'diff');
  const { text, provider } = await ask(COMMIT_MESSAGE_SYSTEM, commitMessagePrompt(diff), 400);
  const message = cleanCommitMessage(text);
  if (!message) throw new UpstreamError(`${provider.name} returned no commit message.`);
  return message;
}
