import type { ApiDialect, ProviderDefinition } from '#shared/providers/types.ts';

/** An account's own endpoint (`AccountEndpoint`), as far as building a request needs it. */
export interface ApiEndpoint {
  type: string;
  baseUrl: string;
  apiVersion: string | null;
}

/** Who is called: the provider, the account's endpoint (null: the provider's public API), the key (null: keyless). */
export interface ApiTarget {
  provider: ProviderDefinition;
  endpoint: ApiEndpoint | null;
  apiKey: string | null;
}

/** The cheapest authenticated call (list one model), or one short text generation. */
export type ApiOperation =
  | { kind: 'list_models' }
  | { kind: 'generate'; model: string; system: string; prompt: string; maxTokens: number };

/** A request to the provider's API: JSON `body` only for `generate`. */
export interface ApiCall {
  url: URL;
  headers: Record<string, string>;
  body?: unknown;
}

function join(base: string, path: string): URL {
  return new URL(`${base.replace(/\/+$/, '')}${path}`);
}

function withApiVersion(url: URL, endpoint: ApiEndpoint | null): URL {
  if (endpoint?.apiVersion) url.searchParams.set('api-version', endpoint.apiVersion);
  return url;
}

function anthropic(base: string, target: ApiTarget, operation: ApiOperation): ApiCall {
  const headers = { ...(target.apiKey ? { 'x-api-key': target.apiKey } : {}), 'anthropic-version': '2023-06-01' };
  if (operation.kind === 'list_models') return { url: join(base, '/v1/models?limit=1'), headers };
  const { model, maxTokens, system, prompt } = operation;
  const body = { model, max_tokens: maxTokens, system, messages: [{ role: 'user', content: prompt }] };
  return { url: join(base, '/v1/messages'), headers, body };
}

function openai(base: string, target: ApiTarget, operation: ApiOperation): ApiCall {
  const azure = target.endpoint?.type === 'azure';
  const headers: Record<string, string> = {};
  if (target.apiKey) headers[azure ? 'api-key' : 'authorization'] = azure ? target.apiKey : `Bearer ${target.apiKey}`;
  const path = operation.kind === 'list_models' ? '/models' : '/responses';
  const url = withApiVersion(join(base, path), target.endpoint);
  if (operation.kind === 'list_models') return { url, headers };
  const { model, system, prompt, maxTokens } = operation;
  return {
    url,
    headers,
    body: { model, instructions: system, input: prompt, max_output_tokens: maxTokens, store: false },
  };
}

function gemini(base: string, target: ApiTarget, operation: ApiOperation): ApiCall {
  const headers: Record<string, string> = target.apiKey ? { 'x-goog-api-key': target.apiKey } : {};
  if (operation.kind === 'list_models') {
    return { url: withApiVersion(join(base, '/v1beta/models?pageSize=1'), target.endpoint), headers };
  }
  const path = `/v1beta/models/${encodeURIComponent(operation.model)}:generateContent`;
  const body = {
    systemInstruction: { parts: [{ text: operation.system }] },
    contents: [{ role: 'user', parts: [{ text: operation.prompt }] }],
    generationConfig: { maxOutputTokens: operation.maxTokens },
  };
  return { url: withApiVersion(join(base, path), target.endpoint), headers, body };
}

const BUILDERS: Record<ApiDialect, (base: string, target: ApiTarget, operation: ApiOperation) => ApiCall> = {
  anthropic,
  openai,
  gemini,
};

/**
 * The one builder of an API-key request to a provider's endpoint, for the account test and the
 * helpers. Custom endpoints are called where the CLI would call them: ANTHROPIC_BASE_URL has no
 * `/v1`, OpenAI-style base URLs include it, Azure takes an `api-key` header, and an endpoint's
 * api-version goes into the query. `undefined` when there is no endpoint to call.
 */
export function apiRequest(target: ApiTarget, operation: ApiOperation): ApiCall | undefined {
  const base = target.endpoint?.baseUrl ?? target.provider.apiBaseUrl;
  if (!base) return undefined;
  return BUILDERS[target.provider.apiDialect](base, target, operation);
}

interface AnthropicAnswer {
  content?: { type: string; text?: string }[];
}
interface OpenAiAnswer {
  output_text?: string;
  output?: { type: string; content?: { type: string; text?: string }[] }[];
}
interface GeminiAnswer {
  candidates?: { content?: { parts?: { text?: string }[] } }[];
}

/** The text of a `generate` answer in `dialect`; empty when it has none. */
export function generatedText(dialect: ApiDialect, answer: unknown): string {
  if (dialect === 'anthropic') {
    return ((answer as AnthropicAnswer).content ?? [])
      .filter((c) => c.type === 'text')
      .map((c) => c.text ?? '')
      .join('');
  }
  if (dialect === 'openai') {
    const a = answer as OpenAiAnswer;
    if (typeof a.output_text === 'string') return a.output_text;
    return (a.output ?? [])
      .filter((o) => o.type === 'message')
      .flatMap((o) => o.content ?? [])
      .filter((c) => c.type === 'output_text')
      .map((c) => c.text ?? '')
      .join('');
  }
  return ((answer as GeminiAnswer).candidates?.[0]?.content?.parts ?? []).map((p) => p.text ?? '').join('');
}
