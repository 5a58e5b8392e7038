import { describe, expect, it } from 'vitest';
import { DEFAULT_COOLDOWN_MS, readRateLimit, retryAfter } from '#shared/proxy/limits.ts';

const NOW = Date.parse('2026-11-22T12:00:00.000Z');
const at = (iso: string) => Date.parse(iso);

describe('readRateLimit', () => {
  it('anthropic: a rejected five-hour window resets at its own reset time', () => {
    const headers = {
      'anthropic-ratelimit-unified-status': 'rejected',
      'anthropic-ratelimit-unified-5h-status': 'rejected',
      'anthropic-ratelimit-unified-5h-reset': String(at('2026-11-22T14:00:00Z') / 1000),
      'anthropic-ratelimit-unified-7d-status': 'allowed',
      'anthropic-ratelimit-unified-reset': String(at('2026-11-22T15:00:00Z') / 1000),
    };
    expect(readRateLimit('anthropic', { status: 429, headers, body: undefined, now: NOW })).toEqual({
      resetsAt: at('2026-11-22T14:00:00Z'),
      window: 'five_hour',
    });
  });

  it('anthropic: the unified reset and representative claim, else retry-after, else the default cooldown', () => {
    const reset = String(at('2026-11-29T00:00:00Z') / 1000);
    expect(
      readRateLimit('anthropic', {
        status: 429,
        headers: {
          'anthropic-ratelimit-unified-reset': reset,
          'anthropic-ratelimit-unified-representative-claim': 'seven_day',
        },
        body: undefined,
        now: NOW,
      }),
    ).toEqual({ resetsAt: at('2026-11-29T00:00:00Z'), window: 'seven_day' });
    expect(
      readRateLimit('anthropic', { status: 429, headers: { 'retry-after': '30' }, body: undefined, now: NOW }),
    ).toEqual({
      resetsAt: NOW + 30_000,
    });
    expect(readRateLimit('anthropic', { status: 429, headers: {}, body: undefined, now: NOW })).toEqual({
      resetsAt: NOW + DEFAULT_COOLDOWN_MS,
    });
  });

  it('anthropic: an allowed answer, even with warnings, is no limit', () => {
    const headers = { 'anthropic-ratelimit-unified-status': 'allowed_warning' };
    expect(readRateLimit('anthropic', { status: 200, headers, body: undefined, now: NOW })).toBeUndefined();
  });

  it('codex: the exhausted window from x-codex-* headers, by reset-after seconds or reset-at', () => {
    const primary = {
      'x-codex-primary-used-percent': '100',
      'x-codex-primary-window-minutes': '300',
      'x-codex-primary-reset-after-seconds': '1800',
      'x-codex-secondary-used-percent': '40',
    };
    expect(readRateLimit('codex', { status: 429, headers: primary, body: undefined, now: NOW })).toEqual({
      resetsAt: NOW + 1_800_000,
      window: 'five_hour',
    });
    const secondary = {
      'x-codex-primary-used-percent': '12',
      'x-codex-secondary-used-percent': '100.0',
      'x-codex-secondary-window-minutes': '10080',
      'x-codex-secondary-reset-at': String(at('2026-11-25T00:00:00Z') / 1000),
    };
    expect(readRateLimit('codex', { status: 429, headers: secondary, body: undefined, now: NOW })).toEqual({
      resetsAt: at('2026-11-25T00:00:00Z'),
      window: 'seven_day',
    });
  });

  it('codex: a usage_limit_reached body when the headers say nothing', () => {
    const body = { error: { type: 'usage_limit_reached', resets_in_seconds: 600 } };
    expect(readRateLimit('codex', { status: 429, headers: {}, body, now: NOW })).toEqual({ resetsAt: NOW + 600_000 });
    expect(
      readRateLimit('codex', { status: 200, headers: { 'x-codex-primary-used-percent': '100' }, body, now: NOW }),
    ).toBeUndefined();
  });

  it('gemini: RESOURCE_EXHAUSTED with RetryInfo, bare or in an array', () => {
    const error = {
      error: {
        code: 429,
        status: 'RESOURCE_EXHAUSTED',
        details: [
          { '@type': 'type.googleapis.com/google.rpc.QuotaFailure', violations: [] },
          { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '34.5s' },
        ],
      },
    };
    expect(readRateLimit('gemini', { status: 429, headers: {}, body: error, now: NOW })).toEqual({
      resetsAt: NOW + 34_500,
    });
    expect(readRateLimit('gemini', { status: 429, headers: {}, body: [error], now: NOW })).toEqual({
      resetsAt: NOW + 34_500,
    });
    expect(readRateLimit('gemini', { status: 503, headers: {}, body: error, now: NOW })).toBeUndefined();
  });
});

describe('retryAfter', () => {
  it('reads seconds and HTTP dates, and ignores nonsense', () => {
    expect(retryAfter({ 'retry-after': '120' }, NOW)).toBe(NOW + 120_000);
    expect(retryAfter({ 'retry-after': 'Sun, 22 Nov 2026 12:05:00 GMT' }, NOW)).toBe(at('2026-11-22T12:05:00Z'));
    expect(retryAfter({ 'retry-after': 'soon' }, NOW)).toBeUndefined();
    expect(retryAfter({}, NOW)).toBeUndefined();
  });
});
