import { DescribeSecretCommand, ListSecretsCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redactText } from '#shared/log/redact.ts';
import { seal, sealingKeyName, unseal } from '#shared/vault/seal.ts';
import {
  createSecret,
  deleteSecret,
  readSecret,
  SecretNotFoundError,
  SecretVersionConflictError,
  secretName,
  writeSecret,
} from '#shared/vault/vault.ts';
import { type LocalAws, startLocalAws } from '#test/helpers/local-aws.ts';

let aws: LocalAws;
beforeAll(async () => {
  aws = await startLocalAws({ KEYFLEET_KMS_KEY_ID: 'alias/keyfleet-test' });
});
afterAll(() => aws.stop());

const describeSecret = (name: string) =>
  new SecretsManagerClient({}).send(new DescribeSecretCommand({ SecretId: name }));

describe('vault', () => {
  it('names secrets keyfleet/<stage>/<provider>/<account>', () => {
    expect(secretName('claude', 'acc_1')).toBe('keyfleet/test/claude/acc_1');
  });

  it('round-trips a credential, encrypted with the configured KMS key and tagged', async () => {
    const name = secretName('codex', 'acc_round');
    await createSecret(name, { refresh_token: 'rt-vault-0001', expires_at: 1 }, { tags: { provider: 'codex' } });
    expect((await readSecret(name)).value).toEqual({ refresh_token: 'rt-vault-0001', expires_at: 1 });
    const described = await describeSecret(name);
    expect(described.KmsKeyId).toBe('alias/keyfleet-test');
    expect(described.Tags).toEqual([{ Key: 'provider', Value: 'codex' }]);
  });

  it('writes new versions idempotently per request token and refuses to rewrite one', async () => {
    const name = secretName('claude', 'acc_versions');
    await createSecret(name, { refresh_token: 'rt-v1-aaaaaaaa' });
    const token = 'refresh-acc_versions-000000000001';
    await writeSecret({ name, value: { refresh_token: 'rt-v2-bbbbbbbb' }, requestToken: token });
    await writeSecret({ name, value: { refresh_token: 'rt-v2-bbbbbbbb' }, requestToken: token });
    await expect(
      writeSecret({ name, value: { refresh_token: 'rt-v3-cccccccc' }, requestToken: token }),
    ).rejects.toBeInstanceOf(SecretVersionConflictError);
    const current = await readSecret(name);
    expect(current).toEqual({ value: { refresh_token: 'rt-v2-bbbbbbbb' }, versionId: token });
    expect(Object.keys((await describeSecret(name)).VersionIdsToStages ?? {})).toHaveLength(2);
  });

  it('registers every value it handles with the log redactor', async () => {
    const name = secretName('gemini', 'acc_redact');
    await createSecret(name, { refresh_token: 'gemini-rt-registered-123' });
    expect(redactText('got gemini-rt-registered-123')).toBe('got [REDACTED]');
  });

  it('deletes at once, leaving nothing to recover, and treats a missing secret as deleted', async () => {
    const name = secretName('grok', 'acc_delete');
    await createSecret(name, { access_token: 'grok-at-00000000' });
    await deleteSecret(name);
    await expect(readSecret(name)).rejects.toBeInstanceOf(SecretNotFoundError);
    await expect(describeSecret(name)).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    await deleteSecret(name);
  });
});

describe('sealing', () => {
  it('keeps its key under keyfleet-internal/<stage>/, outside the account secrets’ prefix', async () => {
    expect(sealingKeyName()).toBe('keyfleet-internal/test/sealing-key');
    const sealed = await seal('pkce-verifier-0123456789', 'sgn_1');
    expect(sealed).not.toContain('pkce-verifier');
    expect(await unseal(sealed, 'sgn_1')).toBe('pkce-verifier-0123456789');
    await expect(unseal(sealed, 'sgn_2')).rejects.toThrow();

    const listed = await new SecretsManagerClient({}).send(new ListSecretsCommand({ MaxResults: 100 }));
    const names = (listed.SecretList ?? []).map((entry) => entry.Name ?? '');
    expect(names.filter((name) => name.includes('sealing-key'))).toEqual(['keyfleet-internal/test/sealing-key']);
    const described = await describeSecret('keyfleet-internal/test/sealing-key');
    expect(described.Description).toBe('Keyfleet sign-in sealing key');
    expect(described.Tags).toEqual([{ Key: 'purpose', Value: 'sealing-key' }]);
  });
});
