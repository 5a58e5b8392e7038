import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { config } from '#shared/config.ts';
import { registerSecret } from '#shared/log/redact.ts';
import { createSecret, readSecret, SecretNotFoundError, SecretVersionConflictError } from '#shared/vault/vault.ts';

/**
 * Sealing for short-lived secrets that must sit in DynamoDB for a few minutes (a sign-in's PKCE
 * verifier, nonce and device code): AES-256-GCM under a key kept in Secrets Manager, with the
 * item's id as associated data so a sealed value cannot be moved to another item. DynamoDB
 * never holds them in clear, and no per-sign-in secret is left behind to clean up.
 */

const VERSION = 'v1';

/**
 * The sealing key's secret name. It sits outside the accounts' `keyfleet/<stage>/` prefix so that
 * the functions allowed to read account credentials cannot read it; only sign-in (the accounts
 * function) is granted this name.
 */
export function sealingKeyName(stage: string = config().stage): string {
  return `keyfleet-internal/${stage}/sealing-key`;
}

let key: Promise<Buffer> | undefined;

async function loadKey(): Promise<Buffer> {
  const name = sealingKeyName();
  try {
    return decodeKey((await readSecret(name)).value.key);
  } catch (error) {
    if (!(error instanceof SecretNotFoundError)) throw error;
  }
  const fresh = randomBytes(32).toString('base64');
  try {
    await createSecret(
      name,
      { key: fresh },
      {
        tags: { purpose: 'sealing-key' },
        description: 'Keyfleet sign-in sealing key',
      },
    );
    return decodeKey(fresh);
  } catch (error) {
    // Another instance created it first: use theirs.
    if (error instanceof SecretVersionConflictError) return decodeKey((await readSecret(name)).value.key);
    throw error;
  }
}

function decodeKey(value: unknown): Buffer {
  const buffer = Buffer.from(String(value ?? ''), 'base64');
  if (buffer.length !== 32) throw new Error('sealing key is not 32 bytes');
  return buffer;
}

function sealingKey(): Promise<Buffer> {
  key ??= loadKey().catch((error: unknown) => {
    key = undefined;
    throw error;
  });
  return key;
}

/**
 * AES-256-GCM under `key` with `context` as associated data: `v1.<iv>.<ciphertext and tag>`, both
 * base64url. The pure half of {@link seal}.
 */
export function sealWithKey(key: Buffer, plaintext: string, context: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(context, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return `${VERSION}.${iv.toString('base64url')}.${body.toString('base64url')}`;
}

/** Opens a value made by {@link sealWithKey}; throws when the key, the context or any byte differs. */
export function unsealWithKey(key: Buffer, sealed: string, context: string): string {
  const [version, ivText, bodyText, extra] = sealed.split('.');
  if (version !== VERSION || !ivText || !bodyText || extra !== undefined) throw new Error('not a sealed value');
  const body = Buffer.from(bodyText, 'base64url');
  if (body.length < 16) throw new Error('not a sealed value');
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(ivText, 'base64url'));
  decipher.setAAD(Buffer.from(context, 'utf8'));
  decipher.setAuthTag(body.subarray(body.length - 16));
  return Buffer.concat([decipher.update(body.subarray(0, body.length - 16)), decipher.final()]).toString('utf8');
}

/** Encrypts `plaintext`, bound to `context` (e.g. the sign-in id), under the stage's sealing key. */
export async function seal(plaintext: string, context: string): Promise<string> {
  registerSecret(plaintext);
  return sealWithKey(await sealingKey(), plaintext, context);
}

/** Decrypts a value made by {@link seal} with the same `context`; throws if it was altered. */
export async function unseal(sealed: string, context: string): Promise<string> {
  const plaintext = unsealWithKey(await sealingKey(), sealed, context);
  registerSecret(plaintext);
  return plaintext;
}
