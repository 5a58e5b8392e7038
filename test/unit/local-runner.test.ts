import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { LocalTaskRunner } from '#infra/local/runner.ts';
import { UpstreamError } from '#shared/errors.ts';

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
        ecs: { command: ['true'] },
      }),
    ).rejects.toThrow(new UpstreamError('Local mode is stopping: the task was not started.'));
    expect((await readdir(tmpdir())).filter((name) => name.startsWith(`keyfleet-task-${launchId}-`))).toEqual([]);
    expect(runner.runningLaunches()).toEqual([]);
  });
});
