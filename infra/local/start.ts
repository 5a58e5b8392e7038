import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join, resolve } from 'node:path';
import { ensureTable, startDynamo } from '#infra/local/dynamo.ts';
import { localFunctions } from '#infra/local/functions.ts';
import { DEFAULT_STOP_GRACE_MS, LocalTaskRunner } from '#infra/local/runner.ts';
import { startSecretsServer } from '#infra/local/secrets-server.ts';
import { createLocalApi, listen } from '#infra/local/server.ts';
import { ConfigProblems, wholeNumber } from '#shared/config.ts';
import type { Caller } from '#shared/http/types.ts';
import { sweep } from '#shared/keepalive/sweeper.ts';
import { setTaskRunner } from '#shared/launch/runner.ts';
import { logger } from '#shared/log/logger.ts';
import { checkStartup } from '#shared/startup.ts';

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
  /** The data directory, absolute and with symbolic links resolved. */
  dataDir: string;
  /** Stops the tasks (revoking their launches, removing their HOMEs), then the API and the endpoints. */
  stop: () => Promise<void>;
}

/** Local mode cannot start for a reason one sentence explains (port in use, data directory locked). */
export class LocalStartError extends Error {
  override readonly name = 'LocalStartError';
}

/** The lock file that keeps a second local mode off a data directory. */
export const LOCK_FILE = 'keyfleet.lock';

/** Local mode's own whole-number variables: defaults and accepted ranges. */
const LOCAL_NUMBERS = {
  port: { name: 'KEYFLEET_PORT', fallback: 8787, min: 0, max: 65_535 },
  sweepSeconds: { name: 'KEYFLEET_SWEEP_SECONDS', fallback: 300, min: 0, max: 86_400 },
  stopGraceSeconds: { name: 'KEYFLEET_STOP_GRACE_SECONDS', fallback: DEFAULT_STOP_GRACE_MS / 1000, min: 0, max: 3_600 },
} as const;

interface LocalSettings {
  port: number;
  sweepSeconds: number;
  stopGraceMs: number;
  users: Map<string, string>;
}

function localUsers(env: NodeJS.ProcessEnv, problems: string[]): Map<string, string> {
  const users = new Map<string, string>();
  if (!env.KEYFLEET_LOCAL_USERS) return users;
  let parsed: unknown;
  try {
    parsed = JSON.parse(env.KEYFLEET_LOCAL_USERS);
  } catch {
    problems.push('KEYFLEET_LOCAL_USERS must be JSON: {"<token>": "<caller id>"}');
    return users;
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    problems.push('KEYFLEET_LOCAL_USERS must be a JSON object: {"<token>": "<caller id>"}');
    return users;
  }
  for (const [token, id] of Object.entries(parsed)) {
    if (typeof id !== 'string' || !id || token.length < 16) {
      problems.push('KEYFLEET_LOCAL_USERS: each token needs 16+ characters and a caller id string');
      return users;
    }
    users.set(token, id);
  }
  return users;
}

/**
 * Everything local mode reads from its environment, checked before anything starts: the
 * functions' configuration and provider definitions ({@link checkStartup}) and local mode's own
 * variables, reported together in one {@link ConfigProblems}.
 */
function localSettings(env: NodeJS.ProcessEnv, options: LocalModeOptions): LocalSettings {
  const problems: string[] = [];
  try {
    checkStartup({ env });
  } catch (error) {
    if (!(error instanceof ConfigProblems)) throw error;
    problems.push(...error.problems);
  }
  const port = options.port ?? wholeNumber(env, LOCAL_NUMBERS.port, problems);
  const sweepSeconds = wholeNumber(env, LOCAL_NUMBERS.sweepSeconds, problems);
  const graceSeconds = wholeNumber(env, LOCAL_NUMBERS.stopGraceSeconds, problems);
  const users = localUsers(env, problems);
  if (problems.length > 0) throw new ConfigProblems(problems);
  return { port, sweepSeconds, stopGraceMs: graceSeconds * 1000, users };
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

function callerTokens(env: NodeJS.ProcessEnv, admin: string, users: Map<string, string>): Map<string, Caller> {
  const tokens = new Map<string, Caller>([[admin, { id: 'admin', role: 'admin' }]]);
  if (env.KEYFLEET_MEMBER_TOKEN) tokens.set(env.KEYFLEET_MEMBER_TOKEN, { id: 'member', role: 'member' });
  for (const [token, id] of users) tokens.set(token, { id, role: 'member' });
  return tokens;
}

/** Data directories this process holds the lock of (a stale lock may carry our PID after a restart). */
const heldHere = new Set<string>();

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function lockOwner(file: string): Promise<number | undefined> {
  const text = await readFile(file, 'utf8').catch(() => '');
  const pid = Number(text.trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/**
 * Takes `<dataDir>/keyfleet.lock` (holding our PID) or fails with {@link LocalStartError} when a
 * running process holds it. A lock whose process is gone is stale and taken over. Returns the release.
 */
async function acquireLock(dataDir: string): Promise<() => Promise<void>> {
  const file = join(dataDir, LOCK_FILE);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await writeFile(file, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
      heldHere.add(dataDir);
      return async () => {
        heldHere.delete(dataDir);
        if ((await lockOwner(file)) === process.pid) await rm(file, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = await lockOwner(file);
    const held = owner === process.pid ? heldHere.has(dataDir) : owner !== undefined && isRunning(owner);
    if (held) {
      throw new LocalStartError(
        `another Keyfleet local mode (PID ${owner}) is using ${dataDir}; stop it, or set KEYFLEET_DATA_DIR to another directory`,
      );
    }
    await rm(file, { force: true });
  }
  throw new LocalStartError(`could not take the lock ${file}; remove it if no Keyfleet local mode is running`);
}

/**
 * Listens on 127.0.0.1:`port`, turning the usual refusals into a {@link LocalStartError}. Local mode
 * calls it once with a throwaway server before starting anything, so a taken port fails fast.
 */
async function listenOn(server: Server, port: number): Promise<string> {
  try {
    return await listen(server, port);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') {
      throw new LocalStartError(
        `port ${port} on 127.0.0.1 is already in use; stop what uses it or pick another port, e.g. KEYFLEET_PORT=9000 npm start`,
      );
    }
    if (code === 'EACCES')
      throw new LocalStartError(`not allowed to listen on port ${port}; set KEYFLEET_PORT above 1023`);
    throw error;
  }
}

/** Starts the embedded endpoints whose `AWS_ENDPOINT_URL_*` is not set; pushes their stops. */
async function startEndpoints(
  env: NodeJS.ProcessEnv,
  dataDir: string,
  ephemeral: boolean,
  stops: (() => Promise<void>)[],
): Promise<void> {
  let embedded = false;
  if (!env.AWS_ENDPOINT_URL_DYNAMODB) {
    const dynamo = await startDynamo(ephemeral ? {} : { path: join(dataDir, 'dynamodb') });
    stops.push(dynamo.close);
    env.AWS_ENDPOINT_URL_DYNAMODB = dynamo.endpoint;
    embedded = true;
  }
  if (!env.AWS_ENDPOINT_URL_SECRETS_MANAGER) {
    const secrets = await startSecretsServer(ephemeral ? {} : { file: join(dataDir, 'secrets.json') });
    stops.push(secrets.close);
    env.AWS_ENDPOINT_URL_SECRETS_MANAGER = secrets.endpoint;
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
}

/** The keep-alive sweeper on a timer, as EventBridge Scheduler runs it in the cloud. Returns its stop. */
function startSweeper(seconds: number): () => Promise<void> {
  if (seconds <= 0) return async () => undefined;
  let running: Promise<void> | undefined;
  const timer = setInterval(() => {
    running ??= sweep()
      .then(() => undefined)
      .catch((error: unknown) => logger.error('local keep-alive sweep failed', { error }))
      .finally(() => {
        running = undefined;
      });
  }, seconds * 1000);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}

function closeServer(server: Server): Promise<void> {
  return new Promise<void>((done) => {
    server.closeAllConnections();
    server.close(() => done());
  });
}

async function dataDirectory(env: NodeJS.ProcessEnv, options: LocalModeOptions, ephemeral: boolean): Promise<string> {
  const dataDir = resolve(options.dataDir ?? env.KEYFLEET_DATA_DIR ?? '.keyfleet');
  if (ephemeral) return dataDir;
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  await chmod(dataDir, 0o700);
  return realpath(dataDir);
}

/**
 * Local mode: embedded DynamoDB and Secrets Manager endpoints (each only when its
 * `AWS_ENDPOINT_URL_*` is not set already), the table, and every function's routes on loopback.
 * Sets the same environment variables a deployed function gets, in this process. Bad configuration
 * throws {@link ConfigProblems} before anything starts; a taken port or data directory throws
 * {@link LocalStartError} after undoing what had started.
 */
export async function startLocalMode(options: LocalModeOptions = {}): Promise<LocalMode> {
  const env = options.env ?? process.env;
  const ephemeral = options.ephemeral ?? false;
  env.KEYFLEET_TABLE_NAME ??= 'keyfleet-local';
  env.KEYFLEET_STAGE ??= 'local';
  const settings = localSettings(env, options);
  const dataDir = await dataDirectory(env, options, ephemeral);
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
  };
  try {
    if (!ephemeral) stops.push(await acquireLock(dataDir));
    if (settings.port !== 0) {
      const probe = createServer();
      await listenOn(probe, settings.port);
      await closeServer(probe);
    }
    await startEndpoints(env, dataDir, ephemeral, stops);
    await ensureTable(env.KEYFLEET_TABLE_NAME);

    const token = await adminToken(env, dataDir, ephemeral);
    const logDir = ephemeral ? undefined : join(dataDir, 'tasks');
    if (logDir) await mkdir(logDir, { recursive: true, mode: 0o700 });
    const runner = new LocalTaskRunner({ logDir });
    setTaskRunner(runner);
    const server = createLocalApi(localFunctions, { tokens: callerTokens(env, token, settings.users) });
    const url = await listenOn(server, settings.port);
    stops.push(() => closeServer(server));
    env.KEYFLEET_API_URL ??= url;
    // Stopped first: tasks end and are revoked while the API and the endpoints still answer.
    stops.push(() => runner.stopAll(settings.stopGraceMs));
    stops.push(startSweeper(settings.sweepSeconds));
    return { url, runner, adminToken: token, server, dataDir, stop: stopAll };
  } catch (error) {
    await stopAll().catch((cleanup: unknown) => logger.error('local mode cleanup failed', { error: cleanup }));
    throw error;
  }
}
