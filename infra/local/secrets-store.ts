import { randomBytes, randomUUID } from 'node:crypto';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * The state behind the local Secrets Manager endpoint: secrets, their versions and staging labels,
 * request tokens as version ids, and persistence to a 0600 file. It implements only the operations
 * and parameters Keyfleet sends (create, read the current value, write a version, describe, delete
 * at once, list) and refuses anything else by name, so a new call in the code fails loudly here
 * instead of meeting a silently different emulator.
 */

interface Version {
  id: string;
  secretString: string;
  stages: string[];
  created: number;
}

interface Secret {
  name: string;
  arn: string;
  description: string | undefined;
  kmsKeyId: string | undefined;
  tags: { Key: string; Value: string }[];
  created: number;
  changed: number;
  accessed: number | undefined;
  versions: Version[];
}

/** An error answered in AWS's JSON 1.1 shape (`__type`, `message`). */
export class AwsError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

/** One operation's JSON input, as the SDK sent it. */
export type Input = Record<string, unknown>;

const MAX_VERSIONS = 100;
const MAX_SECRET_BYTES = 65_536;
const ACCOUNT_ID = '000000000000';

/** The parameters each supported operation accepts; the SDK adds `ClientRequestToken` itself. */
const ACCEPTED: Record<string, readonly string[]> = {
  CreateSecret: ['Name', 'SecretString', 'ClientRequestToken', 'KmsKeyId', 'Description', 'Tags'],
  GetSecretValue: ['SecretId'],
  PutSecretValue: ['SecretId', 'SecretString', 'ClientRequestToken'],
  DescribeSecret: ['SecretId'],
  DeleteSecret: ['SecretId', 'ForceDeleteWithoutRecovery'],
  ListSecrets: ['MaxResults', 'NextToken'],
};

export interface SecretsStoreOptions {
  /** Persist to this file (created with mode 0600); in memory when absent. */
  file?: string;
  /** Clock in milliseconds. */
  now?: () => number;
}

/** A failure to inject, for tests of callers' retry paths. */
export interface InjectedFault {
  operation: string;
  /** `before`: fail without doing anything; `after`: do the work, then lose the answer. */
  when: 'before' | 'after';
}

/** Secrets Manager's state and operations, without the HTTP framing. */
export class LocalSecretsManager {
  private secrets = new Map<string, Secret>();
  private faults: InjectedFault[] = [];
  /** Every operation received, with its input (tests read it; it holds secret values). */
  readonly received: { operation: string; input: Input }[] = [];
  private readonly now: () => number;
  private saving: Promise<void> = Promise.resolve();

  constructor(private readonly options: SecretsStoreOptions = {}) {
    this.now = options.now ?? Date.now;
  }

  /** Makes the next calls of `fault.operation` fail with a 500, once per entry. */
  injectFaults(...faults: InjectedFault[]): void {
    this.faults.push(...faults);
  }

  /** Loads persisted state, if a file was given and exists. */
  async load(): Promise<void> {
    if (!this.options.file) return;
    try {
      const raw = JSON.parse(await readFile(this.options.file, 'utf8')) as { secrets: Secret[] };
      this.secrets = new Map(raw.secrets.map((s) => [s.name, s]));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }

  private persist(): Promise<void> {
    const file = this.options.file;
    if (!file) return Promise.resolve();
    const snapshot = JSON.stringify({ secrets: [...this.secrets.values()] });
    this.saving = this.saving.then(async () => {
      await mkdir(dirname(file), { recursive: true, mode: 0o700 });
      const temp = `${file}.${process.pid}.tmp`;
      await writeFile(temp, snapshot, { mode: 0o600 });
      await chmod(temp, 0o600);
      await rename(temp, file);
    });
    return this.saving;
  }

  /** Handles one operation, with any injected fault; the HTTP layer and tests call it. */
  async dispatch(operation: string, input: Input, region: string): Promise<unknown> {
    this.received.push({ operation, input });
    const index = this.faults.findIndex((f) => f.operation === operation);
    const fault = index >= 0 ? this.faults.splice(index, 1)[0] : undefined;
    if (fault?.when === 'before') throw new AwsError('InternalServiceError', 'Injected failure.', 500);
    const result = await this.run(operation, input, region);
    if (fault?.when === 'after') throw new AwsError('InternalServiceError', 'Injected failure after the change.', 500);
    return result;
  }

  private async run(operation: string, input: Input, region: string): Promise<unknown> {
    const accepted = ACCEPTED[operation];
    if (!accepted) {
      throw new AwsError('UnknownOperationException', `Operation ${operation} is not supported by the local endpoint.`);
    }
    const extra = Object.keys(input).find((key) => !accepted.includes(key));
    if (extra !== undefined) {
      throw new AwsError('InvalidParameterException', `${operation} ${extra} is not supported by the local endpoint.`);
    }
    switch (operation) {
      case 'CreateSecret':
        return this.mutating(() => this.createSecret(input, region));
      case 'GetSecretValue':
        return this.getSecretValue(input);
      case 'PutSecretValue':
        return this.mutating(() => this.putSecretValue(input));
      case 'DescribeSecret':
        return this.describe(this.find(input.SecretId));
      case 'DeleteSecret':
        return this.mutating(() => this.deleteSecret(input));
      default:
        return this.listSecrets(input);
    }
  }

  private async mutating<T>(run: () => T): Promise<T> {
    const result = run();
    await this.persist();
    return result;
  }

  private find(id: unknown): Secret {
    if (typeof id !== 'string' || id.length === 0 || id.length > 2048) {
      throw new AwsError('InvalidParameterException', 'SecretId must be a non-empty string.');
    }
    const secret = id.startsWith('arn:') ? [...this.secrets.values()].find((s) => s.arn === id) : this.secrets.get(id);
    if (!secret) throw new AwsError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
    return secret;
  }

  private requestToken(input: Input): string {
    const token = input.ClientRequestToken;
    if (token === undefined) return randomUUID();
    if (typeof token !== 'string' || token.length < 32 || token.length > 64) {
      throw new AwsError('InvalidParameterException', 'ClientRequestToken must be 32 to 64 characters long.');
    }
    return token;
  }

  private value(input: Input): string | undefined {
    const value = input.SecretString;
    if (value === undefined) return undefined;
    if (typeof value !== 'string') throw new AwsError('InvalidParameterException', 'SecretString must be a string.');
    if (Buffer.byteLength(value) > MAX_SECRET_BYTES) {
      throw new AwsError('InvalidParameterException', 'The secret value exceeds 65536 bytes.');
    }
    return value;
  }

  /** Adds a version as AWSCURRENT, or recognises a retry of the same one. */
  private addVersion(secret: Secret, token: string, value: string): void {
    const existing = secret.versions.find((v) => v.id === token);
    if (existing) {
      if (existing.secretString === value) return;
      throw new AwsError(
        'ResourceExistsException',
        'A version with this ClientRequestToken already exists with a different value; versions cannot be modified.',
      );
    }
    for (const version of secret.versions) {
      const wasCurrent = version.stages.includes('AWSCURRENT');
      version.stages = wasCurrent ? ['AWSPREVIOUS'] : [];
    }
    const now = this.now();
    secret.versions.push({ id: token, secretString: value, stages: ['AWSCURRENT'], created: now });
    // Like AWS, versions with no staging label are deprecated and eventually dropped.
    while (secret.versions.length > MAX_VERSIONS) {
      const index = secret.versions.findIndex((v) => v.stages.length === 0);
      if (index < 0) break;
      secret.versions.splice(index, 1);
    }
    secret.changed = now;
  }

  private createSecret(input: Input, region: string) {
    const name = input.Name;
    if (typeof name !== 'string' || !/^[A-Za-z0-9/_+=.@-]{1,512}$/.test(name)) {
      throw new AwsError('InvalidParameterException', 'Name must be 1-512 characters: letters, digits and /_+=.@-');
    }
    const token = this.requestToken(input);
    const value = this.value(input);
    const existing = this.secrets.get(name);
    if (existing) {
      const same = existing.versions.find((v) => v.id === token);
      if (same && same.secretString === value) return { ARN: existing.arn, Name: name, VersionId: token };
      throw new AwsError('ResourceExistsException', `The operation failed because the secret ${name} already exists.`);
    }
    const now = this.now();
    const secret: Secret = {
      name,
      arn: `arn:aws:secretsmanager:${region}:${ACCOUNT_ID}:secret:${name}-${randomBytes(4).toString('base64url').slice(0, 6)}`,
      description: typeof input.Description === 'string' ? input.Description : undefined,
      kmsKeyId: typeof input.KmsKeyId === 'string' ? input.KmsKeyId : undefined,
      tags: parseTags(input.Tags),
      created: now,
      changed: now,
      accessed: undefined,
      versions: [],
    };
    if (value !== undefined) this.addVersion(secret, token, value);
    this.secrets.set(name, secret);
    return { ARN: secret.arn, Name: name, ...(value !== undefined ? { VersionId: token } : {}) };
  }

  private getSecretValue(input: Input) {
    const secret = this.find(input.SecretId);
    const version = secret.versions.find((v) => v.stages.includes('AWSCURRENT'));
    if (!version) {
      throw new AwsError(
        'ResourceNotFoundException',
        "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT",
      );
    }
    secret.accessed = this.now();
    return {
      ARN: secret.arn,
      Name: secret.name,
      VersionId: version.id,
      SecretString: version.secretString,
      VersionStages: version.stages,
      CreatedDate: version.created / 1000,
    };
  }

  private putSecretValue(input: Input) {
    const secret = this.find(input.SecretId);
    const token = this.requestToken(input);
    const value = this.value(input);
    if (value === undefined) {
      throw new AwsError('InvalidParameterException', 'You must provide either SecretString or SecretBinary.');
    }
    this.addVersion(secret, token, value);
    const version = secret.versions.find((v) => v.id === token);
    return { ARN: secret.arn, Name: secret.name, VersionId: token, VersionStages: version?.stages ?? [] };
  }

  private describe(secret: Secret) {
    return {
      ARN: secret.arn,
      Name: secret.name,
      ...(secret.description !== undefined ? { Description: secret.description } : {}),
      ...(secret.kmsKeyId !== undefined ? { KmsKeyId: secret.kmsKeyId } : {}),
      RotationEnabled: false,
      CreatedDate: secret.created / 1000,
      LastChangedDate: secret.changed / 1000,
      ...(secret.accessed !== undefined ? { LastAccessedDate: secret.accessed / 1000 } : {}),
      Tags: secret.tags,
      VersionIdsToStages: Object.fromEntries(secret.versions.map((v) => [v.id, v.stages])),
    };
  }

  /** Keyfleet keeps nothing for recovery, so only forced deletion is modelled. */
  private deleteSecret(input: Input) {
    const secret = this.find(input.SecretId);
    if (input.ForceDeleteWithoutRecovery !== true) {
      throw new AwsError(
        'InvalidParameterException',
        'DeleteSecret without ForceDeleteWithoutRecovery is not supported by the local endpoint.',
      );
    }
    this.secrets.delete(secret.name);
    return { ARN: secret.arn, Name: secret.name, DeletionDate: this.now() / 1000 };
  }

  private listSecrets(input: Input) {
    const max = input.MaxResults === undefined ? 100 : input.MaxResults;
    if (typeof max !== 'number' || !Number.isInteger(max) || max < 1 || max > 100) {
      throw new AwsError('InvalidParameterException', 'MaxResults must be a whole number from 1 to 100.');
    }
    const all = [...this.secrets.values()].sort((a, b) => a.created - b.created || a.name.localeCompare(b.name));
    const start =
      typeof input.NextToken === 'string'
        ? Number.parseInt(Buffer.from(input.NextToken, 'base64url').toString(), 10)
        : 0;
    if (!Number.isInteger(start) || start < 0) {
      throw new AwsError('InvalidNextTokenException', 'The NextToken is invalid.');
    }
    const page = all.slice(start, start + max);
    const next = start + max < all.length ? Buffer.from(String(start + max)).toString('base64url') : undefined;
    return {
      SecretList: page.map((s) => {
        const { VersionIdsToStages, ...rest } = this.describe(s);
        return { ...rest, SecretVersionsToStages: VersionIdsToStages };
      }),
      ...(next ? { NextToken: next } : {}),
    };
  }
}

function parseTags(tags: unknown): { Key: string; Value: string }[] {
  if (tags === undefined) return [];
  if (!Array.isArray(tags)) throw new AwsError('InvalidParameterException', 'Tags must be a list.');
  return tags.map((t) => {
    const { Key, Value } = (t ?? {}) as { Key?: unknown; Value?: unknown };
    if (typeof Key !== 'string' || typeof Value !== 'string') {
      throw new AwsError('InvalidParameterException', 'Each tag needs a string Key and Value.');
    }
    return { Key, Value };
  });
}
