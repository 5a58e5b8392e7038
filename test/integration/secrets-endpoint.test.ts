import { mkdtemp, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  InvalidRequestException,
  ListSecretsCommand,
  PutSecretValueCommand,
  ResourceExistsException,
  ResourceNotFoundException,
  RestoreSecretCommand,
  SecretsManagerClient,
  TagResourceCommand,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningSecretsServer, startSecretsServer } from '#infra/local/secrets-server.ts';

const T1 = 'a'.repeat(32);
const T2 = 'b'.repeat(32);
const T3 = 'c'.repeat(32);

let clock = Date.UTC(2026, 10, 22);
let server: RunningSecretsServer;
let sm: SecretsManagerClient;

beforeAll(async () => {
  server = await startSecretsServer({ now: () => clock });
  sm = new SecretsManagerClient({
    endpoint: server.endpoint,
    region: 'eu-west-1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    maxAttempts: 1,
  });
});
afterAll(async () => {
  sm.destroy();
  await server.close();
});

describe('local Secrets Manager endpoint, driven by the real SDK client', () => {
  it('creates and reads a secret with the request token as version id and a regional ARN', async () => {
    const created = await sm.send(
      new CreateSecretCommand({ Name: 'kf/one', SecretString: '{"v":1}', ClientRequestToken: T1 }),
    );
    expect(created.VersionId).toBe(T1);
    expect(created.ARN).toMatch(/^arn:aws:secretsmanager:eu-west-1:000000000000:secret:kf\/one-[A-Za-z0-9_-]{6}$/);
    const read = await sm.send(new GetSecretValueCommand({ SecretId: 'kf/one' }));
    expect(read).toMatchObject({
      Name: 'kf/one',
      SecretString: '{"v":1}',
      VersionId: T1,
      VersionStages: ['AWSCURRENT'],
    });
    expect(read.CreatedDate).toBeInstanceOf(Date);
    const byArn = await sm.send(new GetSecretValueCommand({ SecretId: created.ARN }));
    expect(byArn.SecretString).toBe('{"v":1}');
  });

  it('moves AWSCURRENT and AWSPREVIOUS like AWS on each new version', async () => {
    await sm.send(new PutSecretValueCommand({ SecretId: 'kf/one', SecretString: '{"v":2}', ClientRequestToken: T2 }));
    await sm.send(new PutSecretValueCommand({ SecretId: 'kf/one', SecretString: '{"v":3}', ClientRequestToken: T3 }));
    const described = await sm.send(new DescribeSecretCommand({ SecretId: 'kf/one' }));
    expect(described.VersionIdsToStages).toEqual({ [T1]: [], [T2]: ['AWSPREVIOUS'], [T3]: ['AWSCURRENT'] });
    const previous = await sm.send(new GetSecretValueCommand({ SecretId: 'kf/one', VersionStage: 'AWSPREVIOUS' }));
    expect(previous.SecretString).toBe('{"v":2}');
    const old = await sm.send(new GetSecretValueCommand({ SecretId: 'kf/one', VersionId: T1 }));
    expect(old.SecretString).toBe('{"v":1}');
  });

  it('treats a repeated token with the same value as a no-op', async () => {
    const again = await sm.send(
      new PutSecretValueCommand({ SecretId: 'kf/one', SecretString: '{"v":3}', ClientRequestToken: T3 }),
    );
    expect(again.VersionId).toBe(T3);
    const described = await sm.send(new DescribeSecretCommand({ SecretId: 'kf/one' }));
    expect(Object.keys(described.VersionIdsToStages ?? {})).toHaveLength(3);
  });

  it('refuses a repeated token with a different value and keeps the stored one', async () => {
    await expect(
      sm.send(new PutSecretValueCommand({ SecretId: 'kf/one', SecretString: '{"v":"other"}', ClientRequestToken: T3 })),
    ).rejects.toBeInstanceOf(ResourceExistsException);
    const current = await sm.send(new GetSecretValueCommand({ SecretId: 'kf/one' }));
    expect(current.SecretString).toBe('{"v":3}');
  });

  it('answers AWS-shaped errors for missing secrets, duplicate names and bad tokens', async () => {
    const missing = await sm.send(new GetSecretValueCommand({ SecretId: 'kf/none' })).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(ResourceNotFoundException);
    expect((missing as ResourceNotFoundException).$metadata.httpStatusCode).toBe(400);
    await expect(sm.send(new CreateSecretCommand({ Name: 'kf/one', SecretString: 'x' }))).rejects.toBeInstanceOf(
      ResourceExistsException,
    );
    await expect(
      sm.send(new PutSecretValueCommand({ SecretId: 'kf/one', SecretString: 'x', ClientRequestToken: 'short' })),
    ).rejects.toMatchObject({ name: 'InvalidParameterException' });
  });

  it('schedules deletion with a recovery window, refuses reads meanwhile, restores, then forgets after the window', async () => {
    await sm.send(new CreateSecretCommand({ Name: 'kf/window', SecretString: 's' }));
    const deleted = await sm.send(new DeleteSecretCommand({ SecretId: 'kf/window', RecoveryWindowInDays: 7 }));
    expect(deleted.DeletionDate?.getTime()).toBe(clock + 7 * 86_400_000);
    await expect(sm.send(new GetSecretValueCommand({ SecretId: 'kf/window' }))).rejects.toBeInstanceOf(
      InvalidRequestException,
    );
    await expect(sm.send(new CreateSecretCommand({ Name: 'kf/window', SecretString: 's' }))).rejects.toBeInstanceOf(
      InvalidRequestException,
    );
    await sm.send(new RestoreSecretCommand({ SecretId: 'kf/window' }));
    expect((await sm.send(new GetSecretValueCommand({ SecretId: 'kf/window' }))).SecretString).toBe('s');

    await sm.send(new DeleteSecretCommand({ SecretId: 'kf/window', RecoveryWindowInDays: 7 }));
    clock += 7 * 86_400_000 + 1;
    await expect(sm.send(new DescribeSecretCommand({ SecretId: 'kf/window' }))).rejects.toBeInstanceOf(
      ResourceNotFoundException,
    );
  });

  it('deletes at once with ForceDeleteWithoutRecovery and refuses both options together', async () => {
    await sm.send(new CreateSecretCommand({ Name: 'kf/force', SecretString: 's' }));
    await expect(
      sm.send(
        new DeleteSecretCommand({ SecretId: 'kf/force', ForceDeleteWithoutRecovery: true, RecoveryWindowInDays: 7 }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidParameterException' });
    await sm.send(new DeleteSecretCommand({ SecretId: 'kf/force', ForceDeleteWithoutRecovery: true }));
    await expect(sm.send(new GetSecretValueCommand({ SecretId: 'kf/force' }))).rejects.toBeInstanceOf(
      ResourceNotFoundException,
    );
    await sm.send(new CreateSecretCommand({ Name: 'kf/force', SecretString: 'again' }));
  });

  it('lists by name prefix with pagination and merges tags', async () => {
    for (const n of [1, 2, 3]) await sm.send(new CreateSecretCommand({ Name: `kf/list/${n}`, SecretString: 's' }));
    await sm.send(new TagResourceCommand({ SecretId: 'kf/list/1', Tags: [{ Key: 'provider', Value: 'claude' }] }));
    const first = await sm.send(
      new ListSecretsCommand({ Filters: [{ Key: 'name', Values: ['kf/list/'] }], MaxResults: 2 }),
    );
    expect(first.SecretList?.map((s) => s.Name)).toEqual(['kf/list/1', 'kf/list/2']);
    expect(first.SecretList?.[0]?.Tags).toEqual([{ Key: 'provider', Value: 'claude' }]);
    const second = await sm.send(
      new ListSecretsCommand({
        Filters: [{ Key: 'name', Values: ['kf/list/'] }],
        MaxResults: 2,
        NextToken: first.NextToken,
      }),
    );
    expect(second.SecretList?.map((s) => s.Name)).toEqual(['kf/list/3']);
    expect(second.NextToken).toBeUndefined();
  });
});

describe('persistence', () => {
  it('keeps secrets across restarts in a file only the owner can read', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kf-secrets-'));
    const file = join(dir, 'secrets.json');
    const first = await startSecretsServer({ file });
    const client = (endpoint: string) =>
      new SecretsManagerClient({
        endpoint,
        region: 'eu-west-1',
        credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
      });
    await client(first.endpoint).send(new CreateSecretCommand({ Name: 'kf/persist', SecretString: 'kept' }));
    await first.close();
    expect((await stat(file)).mode & 0o777).toBe(0o600);

    const second = await startSecretsServer({ file });
    const read = await client(second.endpoint).send(new GetSecretValueCommand({ SecretId: 'kf/persist' }));
    expect(read.SecretString).toBe('kept');
    await second.close();
  });
});
