import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Logger } from '#shared/log/logger.ts';
import { clearRegisteredSecrets, REDACTED, registerSecret } from '#shared/log/redact.ts';
import { capturedLogs } from '#test/helpers/logs.ts';

const NOW = '2026-11-22T10:00:00.000Z';
const ENV_NAMES = ['AWS_LAMBDA_LOG_LEVEL', 'POWERTOOLS_LOG_LEVEL', 'LOG_LEVEL', '_X_AMZN_TRACE_ID'] as const;
const saved = Object.fromEntries(ENV_NAMES.map((name) => [name, process.env[name]]));

/** What `run` writes: the lines it adds to stdout and stderr together, parsed, and the raw text. */
function written(run: () => void): { lines: Record<string, unknown>[]; text: string } {
  const before = capturedLogs().length;
  run();
  const text = capturedLogs().slice(before);
  return {
    text,
    lines: text.trim()
      ? text
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l))
      : [],
  };
}

/** Which stream a line goes to: spies on the two streams while `run` runs. */
function streams(run: () => void): { stdout: string; stderr: string } {
  const out = vi.spyOn(process.stdout, 'write');
  const err = vi.spyOn(process.stderr, 'write');
  try {
    run();
    return {
      stdout: out.mock.calls.map((c) => String(c[0])).join(''),
      stderr: err.mock.calls.map((c) => String(c[0])).join(''),
    };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(new Date(NOW));
  for (const name of ENV_NAMES) delete process.env[name];
});
afterEach(() => {
  vi.useRealTimers();
  clearRegisteredSecrets();
  for (const name of ENV_NAMES) {
    if (saved[name] === undefined) delete process.env[name];
    else process.env[name] = saved[name];
  }
});

describe('the logger', () => {
  it('writes one JSON line in the Powertools shape, attributes after the standard keys', () => {
    const { text } = written(() => new Logger('keyfleet-launch').info('audit', { audit: { action: 'x' }, n: 1 }));
    expect(text).toBe(
      `{"level":"INFO","message":"audit","timestamp":"${NOW}","service":"keyfleet-launch","sampling_rate":0,"audit":{"action":"x"},"n":1}\n`,
    );
  });

  it('sends INFO to stdout and WARN and ERROR to stderr', () => {
    const log = new Logger('s');
    const { stdout, stderr } = streams(() => {
      log.info('one');
      log.warn('two');
      log.error('three');
    });
    expect(
      stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).message),
    ).toEqual(['one']);
    expect(
      stderr
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).message),
    ).toEqual(['two', 'three']);
  });

  it('adds the trace id of a traced Lambda invocation', () => {
    process.env._X_AMZN_TRACE_ID = 'Root=1-67891233-abcdef012345678912345678;Parent=53995c3f42cd8ad8;Sampled=1';
    const { lines } = written(() => new Logger('s').warn('w'));
    expect(lines[0]?.xray_trace_id).toBe('1-67891233-abcdef012345678912345678');
  });

  it('takes its level from AWS_LAMBDA_LOG_LEVEL, then POWERTOOLS_LOG_LEVEL, then LOG_LEVEL, INFO by default', () => {
    const levels = (): unknown[] =>
      written(() => {
        const log = new Logger('s');
        log.debug('d');
        log.info('i');
        log.warn('w');
      }).lines.map((l) => l.level);
    expect(levels()).toEqual(['INFO', 'WARN']);
    process.env.LOG_LEVEL = 'debug';
    expect(levels()).toEqual(['DEBUG', 'INFO', 'WARN']);
    process.env.POWERTOOLS_LOG_LEVEL = 'WARN';
    expect(levels()).toEqual(['WARN']);
    process.env.AWS_LAMBDA_LOG_LEVEL = 'INFO';
    expect(levels()).toEqual(['INFO', 'WARN']);
    process.env.AWS_LAMBDA_LOG_LEVEL = 'SILENT';
    expect(levels()).toEqual([]);
  });

  it('is silenced by setLogLevel (the bench keeps its table free of log lines)', () => {
    const log = new Logger('s');
    log.setLogLevel('SILENT');
    expect(written(() => log.error('hidden')).text).toBe('');
  });

  it('writes an error as name, location, message, stack and cause, and redacts what they contain', () => {
    registerSecret('opaque-secret-value-123');
    const cause = new Error('inner opaque-secret-value-123');
    const error = Object.assign(new TypeError('outer', { cause }), { status: 502 });
    error.stack = 'TypeError: outer\n    at handler (/var/task/index.mjs:12:34)\n    at run (/var/task/index.mjs:40:2)';
    const { lines } = written(() => new Logger('s').error('failed', { error }));
    const logged = lines[0]?.error as Record<string, unknown>;
    expect(Object.keys(logged)).toEqual(['name', 'location', 'message', 'stack', 'cause', 'status']);
    expect(logged).toMatchObject({
      name: 'TypeError',
      location: '/var/task/index.mjs:12',
      message: 'outer',
      status: 502,
    });
    expect(logged.cause).toMatchObject({ name: 'Error', message: `inner ${REDACTED}` });
  });

  it('redacts secret keys and credential shapes in attributes', () => {
    const { lines } = written(() =>
      new Logger('s').warn('w', { accessToken: 'abc-123456789', nested: { note: 'Bearer abcdefghijklmnop' } }),
    );
    expect(lines[0]).toMatchObject({ accessToken: REDACTED, nested: { note: REDACTED } });
  });

  it('writes BigInts as strings, leaves out cycles, and drops attributes named like the standard keys', () => {
    const cycle: Record<string, unknown> = { a: 1 };
    cycle.self = cycle;
    const { lines } = written(() => new Logger('s').info('m', { big: 10n, cycle, message: 'x', service: 'y' }));
    expect(lines).toEqual([
      {
        level: 'WARN',
        message: 'The key "message" is a reserved key and will be dropped.',
        timestamp: NOW,
        service: 's',
        sampling_rate: 0,
      },
      {
        level: 'WARN',
        message: 'The key "service" is a reserved key and will be dropped.',
        timestamp: NOW,
        service: 's',
        sampling_rate: 0,
      },
      { level: 'INFO', message: 'm', timestamp: NOW, service: 's', sampling_rate: 0, big: '10', cycle: { a: 1 } },
    ]);
  });
});
