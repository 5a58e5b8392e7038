import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import { join, resolve } from 'node:path';
import { ensureTable, startDynamo } from '#infra/local/dynamo.ts';
import { localFunctions } from '#infra/local/functions.ts';
import { LocalTaskRunner } from '#infra/local/runner.ts';
import { startSecretsServer } from '#infra/local/secrets-server.ts';
import { createLocalApi, listen } from '#infra/local/server.ts';
import type { Caller } from '#shared/http/types.ts';
import { sweep } from '#shared/keepalive/sweeper.ts';
import { setTaskRunner } from '#shared/launch/runner.ts';
import { logger } from '#shared/log/logger.ts';

export interface LocalModeOptions {
  /** Where data lives between runs (`.keyfleet/` by default). */
  dataDir?: string;
  /** Port for the API; 8787 by default, 0 for a random one. */
  port?: number;
  /** In-memory endpoints instead of files under dataDir (tests). */
  ephemeral?: boolean;
  env?: NodeJS.ProcessEnv;
}

export interface LocalMode {
  url: string;
  runner: LocalTaskRunner;
  adminToken: string;
  server: Server;
  stop: () => Promise<void>;
}

/** Reads the admin token from the environment, else from dataDir, else makes and keeps one. */
async function adminToken(env: NodeJS.ProcessEnv, dataDir: string, ephemeral: boolean): Promise<string> {
  if (env.KEYFLEET_ADMIN_TOKEN) return env.KEYFLEET_ADMIN_TOKEN;
  const fresh = `kf_admin_${randomBytes(24).toString('base64url')}`;
  if (ephemeral) return fresh;
  const file = join(dataDir, 'admin-token');
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch {
    await writeFile(file, `${fresh}\n`, { mode: 0o600 });
    await chmod(file, 0o600);
    return fresh;
  }
}

function callerTokens(env: NodeJS.ProcessEnv, admin: string): Map<string, Caller> {
  const tokens = new Map<string, Caller>([[admin, { id: 'admin', role: 'admin' }]]);
  if (env.KEYFLEET_MEMBER_TOKEN) tokens.set(env.KEYFLEET_MEMBER_TOKEN, { id: 'member', role: 'member' });
  if (env.KEYFLEET_LOCAL_USERS) {
    let users: unknown;
    try {
      users = JSON.parse(env.KEYFLEET_LOCAL_USERS);
    } catch {
      throw new Error('KEYFLEET_LOCAL_USERS must be JSON: {"<token>": "<caller id>"}');
    }
    if (!users || typeof users !== 'object' || Array.isArray(users)) {
      throw new Error('KEYFLEET_LOCAL_USERS must be a JSON object: {"<token>": "<caller id>"}');
    }
    for (const [token, id] of Object.entries(users)) {
      if (typeof id !== 'string' || !id || token.length < 16) {
        throw new Error('KEYFLEET_LOCAL_USERS: each token needs 16+ characters and a caller id string');
      }
      tokens.set(token, { id, role: 'member' });
    }
  }
  return tokens;
}

/**
 * Local mode: embedded DynamoDB and Secrets Manager endpoints (each only when its
 * `AWS_ENDPOINT_URL_*` is not set already), the table, and every function's routes on loopback.
 * Sets the same environment variables a deployed function gets, in this process.
 */
export async function startLocalMode(options: LocalModeOptions = {}): Promise<LocalMode> {
  const env = options.env ?? process.env;
  const ephemeral = options.ephemeral ?? false;
  const dataDir = resolve(options.dataDir ?? env.KEYFLEET_DATA_DIR ?? '.keyfleet');
  if (!ephemeral) {
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    await chmod(dataDir, 0o700);
  }
  const stops: (() => Promise<void>)[] = [];
  let embedded = false;

  if (!env.AWS_ENDPOINT_URL_DYNAMODB) {
    const dynamo = await startDynamo(ephemeral ? {} : { path: join(dataDir, 'dynamodb') });
    env.AWS_ENDPOINT_URL_DYNAMODB = dynamo.endpoint;
    stops.push(dynamo.close);
    embedded = true;
  }
  if (!env.AWS_ENDPOINT_URL_SECRETS_MANAGER) {
    const secrets = await startSecretsServer(ephemeral ? {} : { file: join(dataDir, 'secrets.json') });
    env.AWS_ENDPOINT_URL_SECRETS_MANAGER = secrets.endpoint;
    stops.push(secrets.close);
    embedded = true;
  }
  env.AWS_REGION ??= 'us-east-1';
  // Local mode calls endpoints on this machine (LM Studio, Ollama, fakes); a Lambda never may.
  env.KEYFLEET_ALLOW_LOOPBACK_CALLS ??= 'true';
  env.AWS_EC2_METADATA_DISABLED ??= 'true';
  if (embedded && !env.AWS_ACCESS_KEY_ID) {
    // The embedded endpoints check no signature; the SDK still wants credentials to sign with.
    env.AWS_ACCESS_KEY_ID = 'local';
    env.AWS_SECRET_ACCESS_KEY = 'local';
  }
  env.KEYFLEET_TABLE_NAME ??= 'keyfleet-local';
  env.KEYFLEET_STAGE ??= 'local';
  await ensureTable(env.KEYFLEET_TABLE_NAME);

  const token = await adminToken(env, dataDir, ephemeral);
  const logDir = ephemeral ? undefined : join(dataDir, 'tasks');
  if (logDir) await mkdir(logDir, { recursive: true, mode: 0o700 });
  const runner = new LocalTaskRunner({ logDir });
  setTaskRunner(runner);
  const server = createLocalApi(localFunctions, { tokens: callerTokens(env, token) });
  const port = options.port ?? Number(env.KEYFLEET_PORT ?? 8787);
  const url = await listen(server, port);
  env.KEYFLEET_API_URL ??= url;

  // The keep-alive sweeper, as EventBridge Scheduler runs it in the cloud (every 5 minutes).
  const sweepSeconds = Number(env.KEYFLEET_SWEEP_SECONDS ?? 300);
  let sweeping = false;
  const timer =
    sweepSeconds > 0
      ? setInterval(() => {
          if (sweeping) return;
          sweeping = true;
          sweep()
            .catch((error: unknown) => logger.error('local keep-alive sweep failed', { error }))
            .finally(() => {
              sweeping = false;
            });
        }, sweepSeconds * 1000)
      : undefined;
  timer?.unref();

  return {
    url,
    runner,
    adminToken: token,
    server,
    stop: async () => {
      if (timer) clearInterval(timer);
      await new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      });
      for (const stop of stops.reverse()) await stop();
    },
  };
}
