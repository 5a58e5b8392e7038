import { describe, expect, it } from 'vitest';
import {
  clampPercent,
  parseClaudeUsage,
  parseCodexUsage,
  parseGeminiQuota,
  parseLoadCodeAssist,
  toIso,
  windowNameForSeconds,
} from '#shared/usage/parse.ts';

const READ_AT = '2026-03-02T10:00:00.000Z';

describe('Claude usage answer', () => {
  it('reads five_hour, seven_day and model-specific windows, and extra_usage as credits rather than a window', () => {
    const body = {
      seven_day_sonnet: { utilization: 1.04, resets_at: '2026-03-08T14:59:59.600981+00:00' },
      five_hour: { utilization: 24.0, resets_at: '2026-03-02T12:59:59.600956+00:00' },
      seven_day: { utilization: 36.0, resets_at: '2026-03-08T06:59:59.600974+00:00' },
      seven_day_opus: null,
      seven_day_oauth_apps: null,
      extra_usage: { is_enabled: true, monthly_limit: 5000, used_credits: 1234, utilization: 100 },
      some_new_flag: true,
    };
    expect(parseClaudeUsage(body, READ_AT)).toEqual({
      plan: null,
      readAt: READ_AT,
      windows: [
        { name: 'five_hour', usedPercent: 24, resetsAt: '2026-03-02T12:59:59.600Z' },
        { name: 'seven_day', usedPercent: 36, resetsAt: '2026-03-08T06:59:59.600Z' },
        { name: 'seven_day_sonnet', usedPercent: 1, resetsAt: '2026-03-08T14:59:59.600Z' },
      ],
      credits: { enabled: true, unlimited: null, balance: null, used: 1234, monthlyLimit: 5000 },
    });
  });

  it('leaves out a window without a utilization number, and keeps one whose reset time is unreadable', () => {
    const body = {
      five_hour: { utilization: 'lots', resets_at: '2026-03-02T12:00:00Z' },
      seven_day: { utilization: 120, resets_at: 'soon' },
      seven_day_opus: { resets_at: '2026-03-08T00:00:00Z' },
      seven_day_sonnet: [1, 2],
    };
    expect(parseClaudeUsage(body, READ_AT)).toEqual({
      plan: null,
      readAt: READ_AT,
      windows: [{ name: 'seven_day', usedPercent: 100, resetsAt: null }],
      credits: null,
    });
  });

  it('reads an empty object as no known windows', () => {
    expect(parseClaudeUsage({}, READ_AT)).toEqual({ plan: null, readAt: READ_AT, windows: [], credits: null });
  });
});

describe('Codex usage answer', () => {
  it('names windows by their length, converts unix reset_at, and reads plan, credits and additional limits', () => {
    const body = {
      plan_type: 'pro',
      rate_limit: {
        allowed: true,
        limit_reached: false,
        primary_window: {
          used_percent: 3,
          limit_window_seconds: 18000,
          reset_after_seconds: 15858,
          reset_at: 1772449200,
        },
        secondary_window: { used_percent: 9.25, limit_window_seconds: 604800, reset_at: 1772900000 },
      },
      code_review_rate_limit: { primary_window: { used_percent: 100, limit_window_seconds: 604800, reset_at: 1 } },
      credits: { has_credits: true, unlimited: false, balance: '12.50', approx_local_messages: [1, 2] },
      additional_rate_limits: [
        {
          limit_name: 'GPT-5 Codex Spark',
          metered_feature: 'codex_spark',
          rate_limit: { primary_window: { used_percent: 50, limit_window_seconds: 86400, reset_at: 1772500000 } },
        },
        { limit_name: null, metered_feature: null, rate_limit: { primary_window: { used_percent: 99 } } },
        'junk',
      ],
    };
    expect(parseCodexUsage(body, READ_AT)).toEqual({
      plan: 'pro',
      readAt: READ_AT,
      windows: [
        { name: 'five_hour', usedPercent: 3, resetsAt: '2026-03-02T11:00:00.000Z' },
        { name: 'seven_day', usedPercent: 9.3, resetsAt: '2026-03-07T16:13:20.000Z' },
        { name: 'gpt-5_codex_spark_window_86400s', usedPercent: 50, resetsAt: '2026-03-03T01:06:40.000Z' },
      ],
      credits: { enabled: true, unlimited: false, balance: '12.50', used: null, monthlyLimit: null },
    });
  });

  it('falls back to reset_after_seconds from the read time, and to the slot name without a window length', () => {
    const body = {
      rate_limit: { primary_window: { used_percent: 40, reset_after_seconds: 60 }, secondary_window: null },
    };
    expect(parseCodexUsage(body, READ_AT).windows).toEqual([
      { name: 'primary', usedPercent: 40, resetsAt: '2026-03-02T10:01:00.000Z' },
    ]);
  });

  it('reads a body without rate_limit as no known windows, and a wrong-typed plan as none', () => {
    expect(parseCodexUsage({ plan_type: 7, rate_limit: 'x', credits: 3 }, READ_AT)).toEqual({
      plan: null,
      readAt: READ_AT,
      windows: [],
      credits: null,
    });
  });

  it('names 18000 s five_hour, 604800 s seven_day and any other length window_<n>s', () => {
    expect(windowNameForSeconds(18000, 'p')).toBe('five_hour');
    expect(windowNameForSeconds(604800, 'p')).toBe('seven_day');
    expect(windowNameForSeconds(3600, 'p')).toBe('window_3600s');
    expect(windowNameForSeconds(1.5, 'p')).toBe('p');
    expect(windowNameForSeconds(null, 'secondary')).toBe('secondary');
  });
});

describe('Gemini Code Assist answers', () => {
  it('reads the project (string or {id}) and tier from loadCodeAssist', () => {
    expect(
      parseLoadCodeAssist({ cloudaicompanionProject: 'proj-1', currentTier: { id: 'standard-tier', name: 'x' } }),
    ).toEqual({
      project: 'proj-1',
      tier: 'standard-tier',
    });
    expect(parseLoadCodeAssist({ cloudaicompanionProject: { id: 'proj-2', name: 'n' } })).toEqual({
      project: 'proj-2',
      tier: null,
    });
    expect(parseLoadCodeAssist({ allowedTiers: [] })).toEqual({ project: null, tier: null });
  });

  it('turns each bucket with a remainingFraction into a daily window used at (1 − fraction) × 100 %', () => {
    const body = {
      buckets: [
        {
          modelId: 'gemini-2.5-pro',
          tokenType: 'REQUESTS',
          remainingFraction: 0.25,
          resetTime: '2026-03-03T00:00:00Z',
        },
        { modelId: 'gemini-2.5-flash', remainingFraction: 1, resetTime: '2026-03-03T00:00:00Z', extra: 1 },
        { modelId: 'gemini-2.5-flash', tokenType: 'INPUT_TOKENS', remainingFraction: 0.5 },
        { modelId: 'gemini-2.0-flash', remainingAmount: '120' },
        { modelId: 'gemini-2.5-pro', tokenType: 'REQUESTS', remainingFraction: 0.9 },
        42,
      ],
    };
    expect(parseGeminiQuota(body, 'standard-tier', READ_AT)).toEqual({
      plan: 'standard-tier',
      readAt: READ_AT,
      windows: [
        { name: 'daily_gemini-2.5-flash', usedPercent: 0, resetsAt: '2026-03-03T00:00:00.000Z' },
        { name: 'daily_gemini-2.5-flash_input_tokens', usedPercent: 50, resetsAt: null },
        { name: 'daily_gemini-2.5-pro', usedPercent: 75, resetsAt: '2026-03-03T00:00:00.000Z' },
      ],
      credits: null,
    });
  });

  it('reads missing or malformed buckets as no known windows', () => {
    expect(parseGeminiQuota({ buckets: 'none' }, null, READ_AT).windows).toEqual([]);
    expect(parseGeminiQuota({}, null, READ_AT).windows).toEqual([]);
  });
});

describe('value helpers', () => {
  it('clamps percentages to 0–100 with one decimal', () => {
    expect([-3, 0, 33.333, 99.96, 250].map(clampPercent)).toEqual([0, 0, 33.3, 100, 100]);
  });

  it('reads ISO strings and unix seconds, and null for anything unreadable', () => {
    expect(toIso('2026-03-02T12:59:59.600956+00:00')).toBe('2026-03-02T12:59:59.600Z');
    expect(toIso(1772449200)).toBe('2026-03-02T11:00:00.000Z');
    expect([toIso('tomorrow'), toIso(null), toIso(undefined), toIso(1e300)]).toEqual([null, null, null, null]);
  });
});
