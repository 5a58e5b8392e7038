import { randomBytes, randomUUID } from 'node:crypto';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname } from 'node:path';

/**
 * A Secrets Manager-compatible endpoint for local mode and tests. It speaks the JSON 1.1 protocol
 * the AWS SDK sends (`POST /`, `x-amz-target: secretsmanager.<Operation>`) and models what Keyfleet
 * relies on: ClientRequestToken as version id (same token + same value is a no-op, same token +
 * different value is refused), AWSCURRENT/AWSPREVIOUS staging, recovery windows and forced
 * deletion, tags, name-prefix listing, and AWS-shaped errors. It checks no signatures: bind it to
 * loopback only. With `file`, state survives restarts in a 0600 JSON file.
 */

interface Version {
  id: string;
  secretString: string | undefined;
  secretBinary: string | undefined;
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
  deletedDate: number | undefined;
  deletionDate: number | undefined;
  versions: Version[];
}

class AwsError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

type Input = Record<string, unknown>;

const MAX_VERSIONS = 100;
const MAX_SECRET_BYTES = 65_536;
const MAX_REQUEST_BYTES = 256 * 1024;
const ACCOUNT_ID = '000000000000';

export interface SecretsServerOptions {
  /** Persist to this file (created with mode 0600); in memory when absent. */
  file?: string;
  /** Clock in milliseconds, for recovery-window tests. */
  now?: () => number;
}

/** A failure to inject, for tests of callers' retry paths. */
export interface InjectedFault {
  operation: string;
  /** `before`: fail without doing anything; `after`: do the work, then lose the answer. */
  when: 'before' | 'after';
}

export class LocalSecretsManager {
  private secrets = new Map<string, Secret>();
  private faults: InjectedFault[] = [];
  /** Every operation received, with its input (tests read it; it holds secret values). */
  readonly received: { operation: string; input: Input }[] = [];

  /** Makes the next calls of `fault.operation` fail with a 500, once per entry. */
  injectFaults(...faults: InjectedFault[]): void {
    this.faults.push(...faults);
  }
  private readonly now: () => number;
  private saving: Promise<void> = Promise.resolve();

  constructor(private readonly options: SecretsServerOptions = {}) {
    this.now = options.now ?? Date.now;
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

  /** Handles one operation; exported for direct use in tests of the emulator itself. */
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
    this.purgeExpired();
    switch (operation) {
      case 'CreateSecret':
        return this.mutating(() => this.createSecret(input, region));
      case 'GetSecretValue':
        return this.getSecretValue(input);
      case 'PutSecretValue':
        return this.mutating(() => this.putSecretValue(input));
      case 'DescribeSecret':
        return this.describe(this.find(input.SecretId, { allowDeleted: true }));
      case 'DeleteSecret':
        return this.mutating(() => this.deleteSecret(input));
      case 'RestoreSecret':
        return this.mutating(() => this.restoreSecret(input));
      case 'ListSecrets':
        return this.listSecrets(input);
      case 'TagResource':
        return this.mutating(() => this.tagResource(input));
      case 'UntagResource':
        return this.mutating(() => this.untagResource(input));
      default:
        throw new AwsError(
          'UnknownOperationException',
          `Operation ${operation} is not supported by the local endpoint.`,
        );
    }
  }

  private async mutating<T>(run: () => T): Promise<T> {
    const result = run();
    await this.persist();
    return result;
  }

  private purgeExpired(): void {
    const now = this.now();
    for (const [name, secret] of this.secrets) {
      if (secret.deletionDate !== undefined && secret.deletionDate <= now) this.secrets.delete(name);
    }
  }

  private find(id: unknown, { allowDeleted = false } = {}): Secret {
    if (typeof id !== 'string' || id.length === 0 || id.length > 2048) {
      throw new AwsError('InvalidParameterException', 'SecretId must be a non-empty string.');
    }
    const secret = id.startsWith('arn:') ? [...this.secrets.values()].find((s) => s.arn === id) : this.secrets.get(id);
    if (!secret) throw new AwsError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
    if (!allowDeleted && secret.deletedDate !== undefined) {
      throw new AwsError(
        'InvalidRequestException',
        "You can't perform this operation on the secret because it was marked for deletion.",
      );
    }
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

  private value(input: Input): { secretString: string | undefined; secretBinary: string | undefined } {
    const { SecretString, SecretBinary } = input;
    if (SecretString !== undefined && SecretBinary !== undefined) {
      throw new AwsError(
        'InvalidParameterException',
        'You must provide either SecretString or SecretBinary, not both.',
      );
    }
    if (SecretString !== undefined && typeof SecretString !== 'string') {
      throw new AwsError('InvalidParameterException', 'SecretString must be a string.');
    }
    if (SecretBinary !== undefined && typeof SecretBinary !== 'string') {
      throw new AwsError('InvalidParameterException', 'SecretBinary must be base64 text.');
    }
    const size = Buffer.byteLength(SecretString ?? '') + Buffer.from(SecretBinary ?? '', 'base64').byteLength;
    if (size > MAX_SECRET_BYTES)
      throw new AwsError('InvalidParameterException', 'The secret value exceeds 65536 bytes.');
    return { secretString: SecretString, secretBinary: SecretBinary };
  }

  /** Adds a version, or recognises a retry of the same one. Returns the version id. */
  private addVersion(
    secret: Secret,
    token: string,
    value: ReturnType<LocalSecretsManager['value']>,
    stages?: unknown,
  ): string {
    const existing = secret.versions.find((v) => v.id === token);
    if (existing) {
      if (existing.secretString === value.secretString && existing.secretBinary === value.secretBinary) return token;
      throw new AwsError(
        'ResourceExistsException',
        'A version with this ClientRequestToken already exists with a different value; versions cannot be modified.',
      );
    }
    const labels = Array.isArray(stages) && stages.length > 0 ? stages.map(String) : ['AWSCURRENT'];
    const now = this.now();
    for (const label of labels) {
      for (const version of secret.versions) {
        if (!version.stages.includes(label)) continue;
        version.stages = version.stages.filter((s) => s !== label);
        if (label === 'AWSCURRENT') {
          for (const v of secret.versions) v.stages = v.stages.filter((s) => s !== 'AWSPREVIOUS');
          version.stages.push('AWSPREVIOUS');
        }
      }
    }
    secret.versions.push({ id: token, ...value, stages: labels, created: now });
    // Like AWS, versions with no staging label are deprecated and eventually dropped.
    while (secret.versions.length > MAX_VERSIONS) {
      const index = secret.versions.findIndex((v) => v.stages.length === 0);
      if (index < 0) break;
      secret.versions.splice(index, 1);
    }
    secret.changed = now;
    return token;
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
      if (existing.deletedDate !== undefined) {
        throw new AwsError(
          'InvalidRequestException',
          "You can't create this secret because a secret with this name is already scheduled for deletion.",
        );
      }
      const same = existing.versions.find((v) => v.id === token);
      if (same && same.secretString === value.secretString && same.secretBinary === value.secretBinary) {
        return { ARN: existing.arn, Name: name, VersionId: token };
      }
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
      deletedDate: undefined,
      deletionDate: undefined,
      versions: [],
    };
    if (value.secretString !== undefined || value.secretBinary !== undefined) this.addVersion(secret, token, value);
    this.secrets.set(name, secret);
    return { ARN: secret.arn, Name: name, ...(secret.versions.length > 0 ? { VersionId: token } : {}) };
  }

  private getSecretValue(input: Input) {
    const secret = this.find(input.SecretId);
    const versionId = input.VersionId;
    const stage = typeof input.VersionStage === 'string' ? input.VersionStage : versionId ? undefined : 'AWSCURRENT';
    const version = secret.versions.find(
      (v) => (versionId === undefined || v.id === versionId) && (stage === undefined || v.stages.includes(stage)),
    );
    if (!version) {
      throw new AwsError(
        'ResourceNotFoundException',
        "Secrets Manager can't find the specified secret value for the requested version or staging label.",
      );
    }
    secret.accessed = this.now();
    return {
      ARN: secret.arn,
      Name: secret.name,
      VersionId: version.id,
      ...(version.secretString !== undefined ? { SecretString: version.secretString } : {}),
      ...(version.secretBinary !== undefined ? { SecretBinary: version.secretBinary } : {}),
      VersionStages: version.stages,
      CreatedDate: version.created / 1000,
    };
  }

  private putSecretValue(input: Input) {
    const secret = this.find(input.SecretId);
    const token = this.requestToken(input);
    const value = this.value(input);
    if (value.secretString === undefined && value.secretBinary === undefined) {
      throw new AwsError('InvalidParameterException', 'You must provide either SecretString or SecretBinary.');
    }
    this.addVersion(secret, token, value, input.VersionStages);
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
      ...(secret.deletedDate !== undefined ? { DeletedDate: secret.deletedDate / 1000 } : {}),
      Tags: secret.tags,
      VersionIdsToStages: Object.fromEntries(secret.versions.map((v) => [v.id, v.stages])),
    };
  }

  private deleteSecret(input: Input) {
    const secret = this.find(input.SecretId, { allowDeleted: true });
    const force = input.ForceDeleteWithoutRecovery === true;
    const window = input.RecoveryWindowInDays;
    if (force && window !== undefined) {
      throw new AwsError(
        'InvalidParameterException',
        "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.",
      );
    }
    const now = this.now();
    if (force) {
      this.secrets.delete(secret.name);
      return { ARN: secret.arn, Name: secret.name, DeletionDate: now / 1000 };
    }
    if (secret.deletedDate !== undefined) {
      throw new AwsError('InvalidRequestException', 'The secret is already scheduled for deletion.');
    }
    const days = window === undefined ? 30 : window;
    if (typeof days !== 'number' || !Number.isInteger(days) || days < 7 || days > 30) {
      throw new AwsError('InvalidParameterException', 'RecoveryWindowInDays must be a whole number from 7 to 30.');
    }
    secret.deletedDate = now;
    secret.deletionDate = now + days * 86_400_000;
    return { ARN: secret.arn, Name: secret.name, DeletionDate: secret.deletionDate / 1000 };
  }

  private restoreSecret(input: Input) {
    const secret = this.find(input.SecretId, { allowDeleted: true });
    secret.deletedDate = undefined;
    secret.deletionDate = undefined;
    return { ARN: secret.arn, Name: secret.name };
  }

  private listSecrets(input: Input) {
    const max = input.MaxResults === undefined ? 100 : input.MaxResults;
    if (typeof max !== 'number' || !Number.isInteger(max) || max < 1 || max > 100) {
      throw new AwsError('InvalidParameterException', 'MaxResults must be a whole number from 1 to 100.');
    }
    const filters = Array.isArray(input.Filters) ? (input.Filters as { Key?: string; Values?: string[] }[]) : [];
    const matches = (secret: Secret): boolean =>
      filters.every(({ Key, Values = [] }) =>
        Values.some((value) => {
          if (Key === 'name') return secret.name.startsWith(value);
          if (Key === 'description') return (secret.description ?? '').startsWith(value);
          if (Key === 'tag-key') return secret.tags.some((t) => t.Key.startsWith(value));
          if (Key === 'tag-value') return secret.tags.some((t) => t.Value.startsWith(value));
          if (Key === 'all') return secret.name.startsWith(value) || secret.tags.some((t) => t.Key.startsWith(value));
          throw new AwsError('InvalidParameterException', `Unsupported filter key ${String(Key)}.`);
        }),
      );
    const includeDeleted = input.IncludePlannedDeletion === true;
    const all = [...this.secrets.values()]
      .filter((s) => (includeDeleted || s.deletedDate === undefined) && matches(s))
      .sort((a, b) => a.created - b.created || a.name.localeCompare(b.name));
    const start =
      typeof input.NextToken === 'string'
        ? Number.parseInt(Buffer.from(input.NextToken, 'base64url').toString(), 10)
        : 0;
    if (!Number.isInteger(start) || start < 0)
      throw new AwsError('InvalidNextTokenException', 'The NextToken is invalid.');
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

  private tagResource(input: Input) {
    const secret = this.find(input.SecretId, { allowDeleted: true });
    for (const tag of parseTags(input.Tags)) {
      secret.tags = secret.tags.filter((t) => t.Key !== tag.Key);
      secret.tags.push(tag);
    }
    return {};
  }

  private untagResource(input: Input) {
    const secret = this.find(input.SecretId, { allowDeleted: true });
    const keys = Array.isArray(input.TagKeys) ? input.TagKeys.map(String) : [];
    secret.tags = secret.tags.filter((t) => !keys.includes(t.Key));
    return {};
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

function regionOf(request: IncomingMessage): string {
  const match = /Credential=[^/]+\/\d{8}\/([a-z0-9-]+)\/secretsmanager\//.exec(request.headers.authorization ?? '');
  return match?.[1] ?? 'us-east-1';
}

async function readBody(request: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).byteLength;
    if (size > MAX_REQUEST_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function send(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
  response.end(JSON.stringify(body));
}

export interface RunningSecretsServer {
  server: Server;
  endpoint: string;
  store: LocalSecretsManager;
  close: () => Promise<void>;
}

/** Starts the endpoint on a random (or given) loopback port. */
export async function startSecretsServer(
  options: SecretsServerOptions & { port?: number } = {},
): Promise<RunningSecretsServer> {
  const store = new LocalSecretsManager(options);
  await store.load();
  const server = createServer(async (request, response) => {
    try {
      const target = String(request.headers['x-amz-target'] ?? '');
      if (request.method !== 'POST' || !target.startsWith('secretsmanager.')) {
        throw new AwsError('UnknownOperationException', 'Expected POST with x-amz-target: secretsmanager.<Operation>.');
      }
      const raw = await readBody(request);
      if (raw === undefined) throw new AwsError('InvalidParameterException', 'Request body too large.', 413);
      let input: Input;
      try {
        input = raw ? (JSON.parse(raw) as Input) : {};
      } catch {
        throw new AwsError('SerializationException', 'Request body is not valid JSON.');
      }
      if (input === null || typeof input !== 'object' || Array.isArray(input)) {
        throw new AwsError('SerializationException', 'Request body must be a JSON object.');
      }
      send(response, 200, await store.dispatch(target.slice('secretsmanager.'.length), input, regionOf(request)));
    } catch (error) {
      if (error instanceof AwsError) send(response, error.status, { __type: error.type, message: error.message });
      else send(response, 500, { __type: 'InternalServiceError', message: 'Internal error in the local endpoint.' });
    }
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    server,
    endpoint: `http://127.0.0.1:${port}`,
    store,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
