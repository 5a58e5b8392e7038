import { constants } from 'node:fs';
import { chmod, copyFile, lstat, readFile, realpath } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ApiError, callApi, UsageError } from '#shared/operator/client.ts';
import { type Command, type Context, PROVIDERS, providerArg, stringOption } from '#shared/operator/command.ts';
import { confinedTarget, writeConfined } from '#shared/profiles/confine.ts';

interface GrantView {
  id: string;
  provider: string;
  accountId: string;
  accountLabel: string;
  createdAt: string;
  expiresAt: string;
  status: 'active' | 'revoked' | 'expired';
}

interface WorkstationProfile {
  env: Record<string, string>;
  files: { path: string; mode: number; content: string; merge?: boolean }[];
  notes: string[];
}

interface Written {
  path: string;
  /** Where the previous file was copied, if there was one that differed. */
  backup: string | null;
  unchanged: boolean;
}

const FILE_MODE = 0o600;

/** `20261122T150102Z`: sortable, and safe in a file name. */
function stamp(now: number): string {
  return new Date(now)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

/** `'value'` for a POSIX shell, whatever the value holds. */
export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'"'"'`)}'`;
}

async function existing(target: string): Promise<string | undefined> {
  const stat = await lstat(target).catch(() => undefined);
  if (!stat) return undefined;
  if (!stat.isFile()) throw new Error(`${target} is not a regular file (a link or a directory); not replacing it`);
  return readFile(target, 'utf8');
}

/** Person's own keys of a JSON settings file stay; the profile's keys win, objects merged key by key. */
function mergeJson(previous: string | undefined, content: string): string {
  const merge = (a: unknown, b: unknown): unknown => {
    const isObject = (v: unknown): v is Record<string, unknown> =>
      typeof v === 'object' && v !== null && !Array.isArray(v);
    if (!isObject(a) || !isObject(b)) return b;
    const out: Record<string, unknown> = { ...a };
    for (const [key, value] of Object.entries(b)) out[key] = merge(a[key], value);
    return out;
  };
  let base: unknown;
  try {
    base = previous === undefined ? undefined : JSON.parse(previous);
  } catch {
    return content;
  }
  return `${JSON.stringify(merge(base, JSON.parse(content)), null, 2)}\n`;
}

/** Copies `target` to `name` (or `name-2`, `name-3`, … when a backup of the same second exists), 0600. */
async function backUp(target: string, name: string): Promise<string> {
  for (let n = 1; ; n++) {
    const candidate = n === 1 ? name : `${name}-${n}`;
    try {
      await copyFile(target, candidate, constants.COPYFILE_EXCL);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST' && n < 100) continue;
      throw error;
    }
    await chmod(candidate, FILE_MODE);
    return candidate;
  }
}

/**
 * Writes the profile's files under `home`: an existing file that differs is first copied to
 * `<file>.keyfleet-backup-<time>`; files are 0600, new directories 0700. With `dryRun`, only says
 * what it would do.
 */
export async function writeWorkstationFiles(
  home: string,
  files: WorkstationProfile['files'],
  options: { now: number; dryRun: boolean },
): Promise<Written[]> {
  const root = await realpath(home).catch(() => {
    throw new UsageError(`the home directory ${home} does not exist`);
  });
  // Every path is checked before anything is written, so a bad entry leaves the home untouched.
  const targets = await Promise.all(files.map((entry) => confinedTarget(root, entry.path)));
  const written: Written[] = [];
  for (const [i, entry] of files.entries()) {
    const target = targets[i] as string;
    const previous = await existing(target);
    const content = entry.merge ? mergeJson(previous, entry.content) : entry.content;
    const unchanged = previous === content;
    let backup = previous !== undefined && !unchanged ? `${target}.keyfleet-backup-${stamp(options.now)}` : null;
    if (options.dryRun || unchanged) {
      written.push({ path: target, backup, unchanged });
      continue;
    }
    if (backup) backup = await backUp(target, backup);
    written.push({ path: target, backup, unchanged });
    await writeConfined(root, target, entry.path, content);
  }
  return written;
}

/** The grant's profile, from the container-side route (authenticated by the grant, not the caller). */
async function fetchProfile(ctx: Context, grant: string): Promise<WorkstationProfile> {
  const client = { ...ctx.client, auth: { kind: 'bearer' as const, token: grant } };
  return (await callApi<WorkstationProfile>(client, 'GET', '/v1/grants/profile')).body;
}

async function revokeOne(ctx: Context, id: string): Promise<void> {
  await callApi(ctx.client, 'DELETE', `/v1/me/grants/${encodeURIComponent(id)}`);
}

interface Synced {
  grant: GrantView;
  files: Written[];
  env: Record<string, string>;
  notes: string[];
}

/** One provider: a grant, its profile, the files. A dry run revokes the grant it took to look. */
async function syncProvider(ctx: Context, provider: string, home: string, dryRun: boolean): Promise<Synced> {
  const hours = stringOption(ctx, 'hours');
  if (hours !== undefined && !/^\d{1,3}$/.test(hours)) throw new UsageError('--hours takes a whole number of hours');
  const account = stringOption(ctx, 'account');
  const { body } = await callApi<{ grant: GrantView & { token: string } }>(ctx.client, 'POST', '/v1/me/grants', {
    body: { provider, ...(account ? { preferredAccountId: account } : {}), ...(hours ? { hours: Number(hours) } : {}) },
  });
  const { token, ...grant } = body.grant;
  try {
    const profile = await fetchProfile(ctx, token);
    const now = ctx.io.now?.() ?? Date.now();
    const files = await writeWorkstationFiles(home, profile.files, { now, dryRun });
    return { grant, files, env: profile.env, notes: profile.notes };
  } catch (error) {
    await revokeOne(ctx, grant.id).catch(() => undefined);
    throw error;
  } finally {
    if (dryRun) await revokeOne(ctx, grant.id).catch(() => undefined);
  }
}

function report(ctx: Context, synced: Synced[], dryRun: boolean): void {
  if (ctx.json) {
    ctx.io.stdout.write(`${JSON.stringify({ synced }, null, 2)}\n`);
    return;
  }
  const err = ctx.io.stderr;
  for (const { grant, files, env, notes } of synced) {
    err.write(
      `${grant.provider}: account "${grant.accountLabel}" (${grant.accountId}), grant ${grant.id} until ${grant.expiresAt}\n`,
    );
    for (const f of files) {
      const verb = f.unchanged ? 'unchanged' : dryRun ? 'would write' : 'wrote';
      err.write(
        `  ${verb} ${f.path} (0600)${f.backup ? `, ${dryRun ? 'would back up' : 'backed up'} to ${f.backup}` : ''}\n`,
      );
    }
    for (const note of notes) err.write(`  note: ${note}\n`);
    // Export lines on stdout, so `eval "$(keyfleet sync codex)"` works; never into start-up files.
    for (const [name, value] of Object.entries(env))
      ctx.io.stdout.write(dryRun ? `export ${name}=…\n` : `export ${name}=${shellQuote(value)}\n`);
  }
  if (dryRun) err.write('dry run: nothing was written, and the grant taken to look was revoked.\n');
}

/** `keyfleet sync --revoke [provider]`: revokes the caller's active grants. */
async function revokeAll(ctx: Context, provider: string | undefined): Promise<void> {
  const { body } = await callApi<{ grants: GrantView[] }>(ctx.client, 'GET', '/v1/me/grants');
  const active = body.grants.filter((g) => g.status === 'active' && (!provider || g.provider === provider));
  for (const grant of active) await revokeOne(ctx, grant.id);
  if (ctx.json) ctx.io.stdout.write(`${JSON.stringify({ revoked: active.map((g) => g.id) }, null, 2)}\n`);
  else ctx.io.stderr.write(`revoked ${active.length} grant${active.length === 1 ? '' : 's'}\n`);
}

async function run(ctx: Context): Promise<number> {
  const provider = providerArg(ctx, 0, true);
  if (ctx.values.revoke === true) {
    await revokeAll(ctx, provider);
    return 0;
  }
  const home = stringOption(ctx, 'home') ?? ctx.io.env.HOME;
  if (!home) throw new UsageError('HOME is not set; pass --home DIR');
  const dryRun = ctx.values['dry-run'] === true;
  if (provider) {
    report(ctx, [await syncProvider(ctx, provider, resolve(home), dryRun)], dryRun);
    return 0;
  }
  // Every provider: those with no account for the caller are skipped; other failures are reported
  // after what did work, and make the exit code 1.
  const synced: Synced[] = [];
  const failed: string[] = [];
  for (const id of PROVIDERS) {
    try {
      synced.push(await syncProvider(ctx, id, resolve(home), dryRun));
    } catch (error) {
      if (error instanceof ApiError && error.code === 'provider_not_configured') continue;
      if (error instanceof UsageError) throw error;
      failed.push(`${id}: ${error instanceof ApiError ? `${error.code}: ` : ''}${(error as Error).message}`);
    }
  }
  if (synced.length === 0 && failed.length === 0)
    throw new ApiError(409, 'provider_not_configured', 'No provider has an account for you.');
  report(ctx, synced, dryRun);
  for (const line of failed) ctx.io.stderr.write(`keyfleet: ${line}\n`);
  return failed.length > 0 ? 1 : 0;
}

export const syncCommand: Command = {
  name: 'sync',
  args: '[provider] [--home DIR] [--dry-run] [--hours N] [--account ID] | --revoke [provider]',
  summary: "write the account Keyfleet chooses for you into this workstation's CLI files, under a revocable grant",
  options: {
    home: { type: 'string' },
    'dry-run': { type: 'boolean' },
    hours: { type: 'string' },
    account: { type: 'string' },
    revoke: { type: 'boolean' },
  },
  details: `Each provider gets a personal grant (24 hours unless --hours; at most 720) bound to you and
to the account chosen as for your launches. Existing files are copied to
<file>.keyfleet-backup-<time> first; files are written 0600. Variables the CLI needs are printed
as export lines on stdout (eval "$(keyfleet sync codex)"); progress goes to stderr. No pooled
rotating refresh token is written: Claude gets an access token (.credentials.json, with no refresh
token), Codex refreshes through Keyfleet with the grant, Gemini gets an access token (about an hour).
--revoke revokes your active grants (all, or one provider's); access tokens already written
stay valid until they expire.`,
  run,
};
