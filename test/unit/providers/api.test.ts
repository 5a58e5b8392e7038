import { describe, expect, it } from 'vitest';
import { type ApiTarget, apiRequest, generatedText } from '#shared/providers/api.ts';
import { buildProviders, type ProviderDefinition, type ProviderId } from '#shared/providers/index.ts';

const providers = buildProviders({});
const provider = (id: ProviderId): ProviderDefinition => providers.get(id) as ProviderDefinition;
const LIST = { kind: 'list_models' } as const;
const GENERATE = { kind: 'generate', model: 'm-1', system: 'Be brief.', prompt: 'Name it.', maxTokens: 60 } as const;

function call(target: ApiTarget, operation: typeof LIST | typeof GENERATE) {
  const built = apiRequest(target, operation);
  return built && { url: built.url.href, headers: built.headers, body: built.body };
}

describe('apiRequest', () => {
  it('lists one Claude model at the public API, and at a custom base URL without /v1', () => {
    expect(call({ provider: provider('claude'), endpoint: null, apiKey: 'sk-ant-1' }, LIST)).toEqual({
      url: 'https://api.anthropic.com/v1/models?limit=1',
      headers: { 'x-api-key': 'sk-ant-1', 'anthropic-version': '2023-06-01' },
      body: undefined,
    });
    const endpoint = { type: 'custom', baseUrl: 'https://gw.example.com/anthropic/', apiVersion: null };
    expect(call({ provider: provider('claude'), endpoint, apiKey: null }, LIST)).toEqual({
      url: 'https://gw.example.com/anthropic/v1/models?limit=1',
      headers: { 'anthropic-version': '2023-06-01' },
      body: undefined,
    });
  });

  it('sends an Azure key as api-key with the endpoint’s api-version, and other OpenAI-style keys as a bearer', () => {
    const azure = { type: 'azure', baseUrl: 'https://r.openai.azure.com/openai/v1', apiVersion: '2025-04-01' };
    expect(call({ provider: provider('codex'), endpoint: azure, apiKey: 'az-key' }, GENERATE)).toEqual({
      url: 'https://r.openai.azure.com/openai/v1/responses?api-version=2025-04-01',
      headers: { 'api-key': 'az-key' },
      body: { model: 'm-1', instructions: 'Be brief.', input: 'Name it.', max_output_tokens: 60, store: false },
    });
    expect(call({ provider: provider('grok'), endpoint: null, apiKey: 'xai-1' }, LIST)).toEqual({
      url: 'https://api.x.ai/v1/models',
      headers: { authorization: 'Bearer xai-1' },
      body: undefined,
    });
  });

  it('puts Gemini’s model in the path and its api-version in the query, for the test and the helpers alike', () => {
    const endpoint = { type: 'custom', baseUrl: 'https://g.example.com', apiVersion: 'v9' };
    expect(call({ provider: provider('gemini'), endpoint, apiKey: 'AIza-1' }, LIST)?.url).toBe(
      'https://g.example.com/v1beta/models?pageSize=1&api-version=v9',
    );
    expect(call({ provider: provider('gemini'), endpoint, apiKey: 'AIza-1' }, GENERATE)).toEqual({
      url: 'https://g.example.com/v1beta/models/m-1:generateContent?api-version=v9',
      headers: { 'x-goog-api-key': 'AIza-1' },
      body: {
        systemInstruction: { parts: [{ text: 'Be brief.' }] },
        contents: [{ role: 'user', parts: [{ text: 'Name it.' }] }],
        generationConfig: { maxOutputTokens: 60 },
      },
    });
  });

  it('has nothing to call for a provider without a public API and no account endpoint (Bob)', () => {
    expect(apiRequest({ provider: provider('bob'), endpoint: null, apiKey: 'k' }, LIST)).toBeUndefined();
  });
});

describe('generatedText', () => {
  it('reads the text parts of each dialect’s answer and ignores the rest', () => {
    const claude = { content: [{ type: 'thinking' }, { type: 'text', text: 'a' }, { type: 'text', text: 'b' }] };
    expect(generatedText('anthropic', claude)).toBe('ab');
    const responses = {
      output: [{ type: 'reasoning' }, { type: 'message', content: [{ type: 'output_text', text: 'c' }] }],
    };
    expect(generatedText('openai', responses)).toBe('c');
    expect(generatedText('openai', { output_text: 'd', output: [] })).toBe('d');
    expect(generatedText('gemini', { candidates: [{ content: { parts: [{ text: 'e' }, { text: 'f' }] } }] })).toBe(
      'ef',
    );
    expect(generatedText('gemini', {})).toBe('');
  });
});
