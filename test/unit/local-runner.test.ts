import { execFileSync } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalTaskRunner, localCliBundle } from '#infra/local/runner.ts';
import { UpstreamError } from '#shared/errors.ts';
import type { RunRequest } from '#shared/launch/runner.ts';

describe('LocalTaskRunner', () => {
  it('refuses new tasks once stopping, leaving no HOME behind', async () => {
    const runner = new LocalTaskRunner();
    await runner.stopAll(0);
    const launchId = 'lch_0123456789abcdef0123';
    await expect(
      runner.run({
        launchId,
        provider: 'claude',
        accountId: 'acc_0123456789abcdef0123',
        ticket: 'kfk_unused',
        apiUrl: 'http://127.0.0.1:9',
        delivery: 'ticket',
        ecs: { command: ['true'] },
      } as RunRequest),
    ).rejects.toThrow(new UpstreamError('Local mode is stopping: the task was not started.'));
    expect((await readdir(tmpdir())).filter((name) => name.startsWith(`keyfleet-task-${launchId}-`))).toEqual([]);
    expect(runner.runningLaunches()).toEqual([]);
  });
});

describe('localCliBundle', () => {
  it('builds the keyfleet command once per process as plain JavaScript that runs without tsx, the operator commands in chunks of their own', async () => {
    const [first, second] = await Promise.all([localCliBundle(), localCliBundle()]);
    expect(first).toMatch(new RegExp(`^${resolve('.cache/local-cli')}/[0-9a-f]{16}/keyfleet\\.mjs$`));
    expect(second).toBe(first);
    expect(await localCliBundle()).toBe(first);
    const text = await readFile(first, 'utf8');
    expect(text).not.toContain('tsx');
    expect(text).not.toMatch(/from ['"]#shared\//);
    // The operator commands live in chunks beside it, loaded only when one is run.
    expect(text).not.toContain('function isOperatorCommand(');
    expect((await readdir(join(first, '..'))).filter((name) => name.startsWith('chunk-')).length).toBeGreaterThan(0);
    expect((await readdir(join(first, '..', '..'))).filter((name) => name.startsWith('partial-'))).toEqual([]);
    const help = execFileSync(process.execPath, [first, '--help'], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH },
    });
    expect(help.split('\n')[0]).toBe('usage:');
    expect(help).toContain('keyfleet exec -- <agent command> [args…]');
  });
});
