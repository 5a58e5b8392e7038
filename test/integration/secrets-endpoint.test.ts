import { mkdtemp, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  PutSecretValueCommand,
  ResourceExistsException,
  ResourceNotFoundException,
  RestoreSecretCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningSecretsServer, startSecretsServer } from '#infra/local/secrets-server.ts';

const T1 = 'a'.repeat(32);
const T2 = 'b'.repeat(32);
const T3 = 'c'.repeat(32);
const CLOCK = Date.UTC(2026, 10, 22);

let server: RunningSecretsServer;
let sm: SecretsManagerClient;

const clientFor = (endpoint: string) =>
  new SecretsManagerClient({
    endpoint,
    region: 'eu-west-1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    maxAttempts: 1,
  });

beforeAll(async () => {
  server = await startSecretsServer({ now: () => CLOCK });
  sm = clientFor(server.endpoint);
});
afterAll(async () => {
  sm.destroy();
  await server.close();
});

/** A secret with versions T1, T2, T3 holding `{"v":1}` … `{"v":3}`. */
async function threeVersions(name: string): Promise<void> {
  await sm.send(new CreateSecretCommand({ Name: name, SecretString: '{"v":1}', ClientRequestToken: T1 }));
  await sm.send(new PutSecretValueCommand({ SecretId: name, SecretString: '{"v":2}', ClientRequestToken: T2 }));
  await sm.send(new PutSecretValueCommand({ SecretId: name, SecretString: '{"v":3}', ClientRequestToken: T3 }));
}

describe('local Secrets Manager endpoint, driven by the real SDK client', () => {
  it('creates and reads a secret with the request token as version id and a regional ARN', async () => {
    const created = await sm.send(
      new CreateSecretCommand({ Name: 'kf/create', SecretString: '{"v":1}', ClientRequestToken: T1 }),
    );
    expect(created.VersionId).toBe(T1);
    expect(created.ARN).toMatch(/^arn:aws:secretsmanager:eu-west-1:000000000000:secret:kf\/create-[A-Za-z0-9_-]{6}$/);
    const read = await sm.send(new GetSecretValueCommand({ SecretId: 'kf/create' }));
    expect(read).toMatchObject({
      Name: 'kf/create',
      SecretString: '{"v":1}',
      VersionId: T1,
      VersionStages: ['AWSCURRENT'],
    });
    expect(read.CreatedDate?.getTime()).toBe(CLOCK);
    const byArn = await sm.send(new GetSecretValueCommand({ SecretId: created.ARN }));
    expect(byArn.SecretString).toBe('{"v":1}');
  });

  it('moves AWSCURRENT and AWSPREVIOUS like AWS on each new version and reads the current one', async () => {
    await threeVersions('kf/stages');
    const described = await sm.send(new DescribeSecretCommand({ SecretId: 'kf/stages' }));
    expect(described.VersionIdsToStages).toEqual({ [T1]: [], [T2]: ['AWSPREVIOUS'], [T3]: ['AWSCURRENT'] });
    const current = await sm.send(new GetSecretValueCommand({ SecretId: 'kf/stages' }));
    expect(current).toMatchObject({ SecretString: '{"v":3}', VersionId: T3 });
  });

  it('treats a repeated token with the same value as a no-op', async () => {
    await threeVersions('kf/retry');
    const again = await sm.send(
      new PutSecretValueCommand({ SecretId: 'kf/retry', SecretString: '{"v":3}', ClientRequestToken: T3 }),
    );
    expect(again).toMatchObject({ VersionId: T3, VersionStages: ['AWSCURRENT'] });
    const described = await sm.send(new DescribeSecretCommand({ SecretId: 'kf/retry' }));
    expect(described.VersionIdsToStages).toEqual({ [T1]: [], [T2]: ['AWSPREVIOUS'], [T3]: ['AWSCURRENT'] });
  });

  it('refuses a repeated token with a different value and keeps the stored one', async () => {
    await threeVersions('kf/conflict');
    const refused = await sm
      .send(new PutSecretValueCommand({ SecretId: 'kf/conflict', SecretString: '{"v":"x"}', ClientRequestToken: T3 }))
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ResourceExistsException);
    expect((refused as Error).message).toBe(
      'A version with this ClientRequestToken already exists with a different value; versions cannot be modified.',
    );
    const current = await sm.send(new GetSecretValueCommand({ SecretId: 'kf/conflict' }));
    expect(current.SecretString).toBe('{"v":3}');
  });

  it('answers AWS-shaped errors for missing secrets, duplicate names and bad tokens', async () => {
    await sm.send(new CreateSecretCommand({ Name: 'kf/errors', SecretString: 's' }));
    const missing = await sm.send(new GetSecretValueCommand({ SecretId: 'kf/none' })).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(ResourceNotFoundException);
    expect((missing as ResourceNotFoundException).message).toBe("Secrets Manager can't find the specified secret.");
    expect((missing as ResourceNotFoundException).$metadata.httpStatusCode).toBe(400);
    await expect(sm.send(new CreateSecretCommand({ Name: 'kf/errors', SecretString: 'x' }))).rejects.toMatchObject({
      name: 'ResourceExistsException',
      message: 'The operation failed because the secret kf/errors already exists.',
    });
    await expect(
      sm.send(new PutSecretValueCommand({ SecretId: 'kf/errors', SecretString: 'x', ClientRequestToken: 'short' })),
    ).rejects.toMatchObject({
      name: 'InvalidParameterException',
      message: 'ClientRequestToken must be 32 to 64 characters long.',
    });
    expect((await sm.send(new GetSecretValueCommand({ SecretId: 'kf/errors' }))).SecretString).toBe('s');
  });

  it('deletes at once with ForceDeleteWithoutRecovery, after which the name is free again', async () => {
    await sm.send(new CreateSecretCommand({ Name: 'kf/force', SecretString: 's' }));
    const deleted = await sm.send(new DeleteSecretCommand({ SecretId: 'kf/force', ForceDeleteWithoutRecovery: true }));
    expect(deleted.DeletionDate?.getTime()).toBe(CLOCK);
    await expect(sm.send(new GetSecretValueCommand({ SecretId: 'kf/force' }))).rejects.toBeInstanceOf(
      ResourceNotFoundException,
    );
    await sm.send(new CreateSecretCommand({ Name: 'kf/force', SecretString: 'again' }));
    expect((await sm.send(new GetSecretValueCommand({ SecretId: 'kf/force' }))).SecretString).toBe('again');
  });

  it('refuses, by name, operations and parameters Keyfleet does not use, and changes nothing', async () => {
    await sm.send(new CreateSecretCommand({ Name: 'kf/unused', SecretString: 'kept' }));
    await expect(sm.send(new RestoreSecretCommand({ SecretId: 'kf/unused' }))).rejects.toMatchObject({
      name: 'UnknownOperationException',
      message: 'Operation RestoreSecret is not supported by the local endpoint.',
    });
    await expect(
      sm.send(new GetSecretValueCommand({ SecretId: 'kf/unused', VersionStage: 'AWSPREVIOUS' })),
    ).rejects.toMatchObject({
      name: 'InvalidParameterException',
      message: 'GetSecretValue VersionStage is not supported by the local endpoint.',
    });
    await expect(
      sm.send(new DeleteSecretCommand({ SecretId: 'kf/unused', RecoveryWindowInDays: 7 })),
    ).rejects.toMatchObject({
      name: 'InvalidParameterException',
      message: 'DeleteSecret RecoveryWindowInDays is not supported by the local endpoint.',
    });
    await expect(sm.send(new DeleteSecretCommand({ SecretId: 'kf/unused' }))).rejects.toMatchObject({
      name: 'InvalidParameterException',
      message: 'DeleteSecret without ForceDeleteWithoutRecovery is not supported by the local endpoint.',
    });
    expect((await sm.send(new GetSecretValueCommand({ SecretId: 'kf/unused' }))).SecretString).toBe('kept');
  });

  it('lists in creation order, then by name, one page at a time', async () => {
    let now = CLOCK;
    const own = await startSecretsServer({ now: () => now });
    const client = clientFor(own.endpoint);
    try {
      for (const name of ['kf/list/b', 'kf/list/a'])
        await client.send(new CreateSecretCommand({ Name: name, SecretString: 's' }));
      now += 1000;
      await client.send(new CreateSecretCommand({ Name: 'kf/list/0', SecretString: 's', ClientRequestToken: T1 }));
      const all = await client.send(new ListSecretsCommand({}));
      expect(all.SecretList?.map((s) => s.Name)).toEqual(['kf/list/a', 'kf/list/b', 'kf/list/0']);
      expect(all.NextToken).toBeUndefined();
      const first = await client.send(new ListSecretsCommand({ MaxResults: 2 }));
      expect(first.SecretList?.map((s) => s.Name)).toEqual(['kf/list/a', 'kf/list/b']);
      const second = await client.send(new ListSecretsCommand({ MaxResults: 2, NextToken: first.NextToken }));
      expect(second.SecretList?.map((s) => s.Name)).toEqual(['kf/list/0']);
      expect(second.SecretList?.[0]?.SecretVersionsToStages).toEqual({ [T1]: ['AWSCURRENT'] });
      expect(second.NextToken).toBeUndefined();
    } finally {
      client.destroy();
      await own.close();
    }
  });
});

describe('fault injection', () => {
  it('fails before the change, or makes the change and loses the answer, once per injected fault', async () => {
    await sm.send(new CreateSecretCommand({ Name: 'kf/faults', SecretString: 'v0' }));
    server.store.injectFaults(
      { operation: 'PutSecretValue', when: 'before' },
      { operation: 'PutSecretValue', when: 'after' },
    );
    const seen = server.store.received.length;
    const put = () =>
      sm.send(new PutSecretValueCommand({ SecretId: 'kf/faults', SecretString: 'v1', ClientRequestToken: T1 }));
    await expect(put()).rejects.toMatchObject({ name: 'InternalServiceError', message: 'Injected failure.' });
    expect((await sm.send(new GetSecretValueCommand({ SecretId: 'kf/faults' }))).SecretString).toBe('v0');
    await expect(put()).rejects.toMatchObject({
      name: 'InternalServiceError',
      message: 'Injected failure after the change.',
    });
    expect((await sm.send(new GetSecretValueCommand({ SecretId: 'kf/faults' }))).SecretString).toBe('v1');
    expect((await put()).VersionId).toBe(T1);
    const puts = server.store.received.slice(seen).filter((r) => r.operation === 'PutSecretValue');
    expect(puts.map((r) => r.input)).toEqual(
      Array.from({ length: 3 }, () => ({ SecretId: 'kf/faults', SecretString: 'v1', ClientRequestToken: T1 })),
    );
  });
});

describe('persistence', () => {
  it('keeps secrets across restarts in a file only the owner can read', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kf-secrets-'));
    const file = join(dir, 'secrets.json');
    const first = await startSecretsServer({ file });
    const one = clientFor(first.endpoint);
    await one.send(new CreateSecretCommand({ Name: 'kf/persist', SecretString: 'kept' }));
    one.destroy();
    await first.close();
    expect((await stat(file)).mode & 0o777).toBe(0o600);

    const second = await startSecretsServer({ file });
    const two = clientFor(second.endpoint);
    const read = await two.send(new GetSecretValueCommand({ SecretId: 'kf/persist' }));
    expect(read.SecretString).toBe('kept');
    two.destroy();
    await second.close();
  });
});
