import {
  CreateSecretCommand,
  DeleteSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { config } from '#shared/config.ts';
import { UpstreamError } from '#shared/errors.ts';
import { registerSecret } from '#shared/log/redact.ts';
import type { ProviderId } from '#shared/providers/types.ts';

/**
 * The vault: one Secrets Manager secret per account, named `keyfleet/<stage>/<provider>/<accountId>`,
 * encrypted with the stack's KMS key (internal secrets, such as the sealing key, live under
 * `keyfleet-internal/<stage>/`). Values are JSON objects of strings (tokens, keys, expiry).
 * Every value read or written is registered with the log redactor.
 */
export type SecretValue = Record<string, string | number | null>;

export class SecretNotFoundError extends Error {
  override readonly name = 'SecretNotFoundError';
}

/** A write with a ClientRequestToken already used for a different value (AWS refuses to edit a version). */
export class SecretVersionConflictError extends Error {
  override readonly name = 'SecretVersionConflictError';
}

let client: SecretsManagerClient | undefined;

/** Built from the SDK's standard configuration (`AWS_ENDPOINT_URL_SECRETS_MANAGER` in local mode). */
function secrets(): SecretsManagerClient {
  client ??= new SecretsManagerClient({});
  return client;
}

export function secretName(provider: ProviderId, accountId: string): string {
  return `keyfleet/${config().stage}/${provider}/${accountId}`;
}

function register(value: SecretValue): void {
  for (const v of Object.values(value)) if (typeof v === 'string') registerSecret(v);
}

function translate(error: unknown): never {
  const name = (error as { name?: string } | null)?.name;
  if (name === 'ResourceNotFoundException') throw new SecretNotFoundError('secret not found', { cause: error });
  if (name === 'ResourceExistsException') {
    throw new SecretVersionConflictError('secret or version already exists', { cause: error });
  }
  throw new UpstreamError('Secrets Manager request failed; try again.', { cause: error });
}

async function call<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    translate(error);
  }
}

/**
 * Creates the secret with its first value. Tags name the provider and account so the secret can
 * be traced without opening it.
 */
export async function createSecret(
  name: string,
  value: SecretValue,
  options: { tags?: Record<string, string>; description?: string } = {},
): Promise<{ arn: string; versionId: string }> {
  register(value);
  const out = await call(() =>
    secrets().send(
      new CreateSecretCommand({
        Name: name,
        SecretString: JSON.stringify(value),
        KmsKeyId: config().kmsKeyId,
        Description: options.description ?? 'Keyfleet account credential',
        Tags: Object.entries(options.tags ?? {}).map(([Key, Value]) => ({ Key, Value })),
      }),
    ),
  );
  return { arn: out.ARN ?? '', versionId: out.VersionId ?? '' };
}

/** Reads the current value, and the id of the version it is. */
export async function readSecret(name: string): Promise<{ value: SecretValue; versionId: string }> {
  const out = await call(() => secrets().send(new GetSecretValueCommand({ SecretId: name })));
  let value: SecretValue;
  try {
    value = JSON.parse(out.SecretString ?? '{}') as SecretValue;
  } catch (error) {
    throw new UpstreamError('Stored credential is not readable.', { cause: error });
  }
  register(value);
  return { value, versionId: out.VersionId ?? '' };
}

/** A new version of a secret: `requestToken` (32–64 characters) becomes its version id. */
export interface SecretWrite {
  name: string;
  value: SecretValue;
  requestToken: string;
}

/**
 * Writes a new current version. Repeating a write with the same request token and value is a
 * no-op, so a retry after a lost response cannot create a second version or lose the first; the
 * same token with another value is refused (`SecretVersionConflictError`).
 */
export async function writeSecret(write: SecretWrite): Promise<{ versionId: string }> {
  register(write.value);
  const out = await call(() =>
    secrets().send(
      new PutSecretValueCommand({
        SecretId: write.name,
        SecretString: JSON.stringify(write.value),
        ClientRequestToken: write.requestToken,
      }),
    ),
  );
  return { versionId: out.VersionId ?? write.requestToken };
}

/**
 * Deletes the secret at once (`ForceDeleteWithoutRecovery`): a removed account's credential is
 * not kept for recovery. An already missing secret counts as deleted.
 */
export async function deleteSecret(name: string): Promise<void> {
  try {
    await call(() => secrets().send(new DeleteSecretCommand({ SecretId: name, ForceDeleteWithoutRecovery: true })));
  } catch (error) {
    if (error instanceof SecretNotFoundError) return;
    throw error;
  }
}
