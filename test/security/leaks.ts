import { capturedLogs } from '#test/helpers/logs.ts';
import { type Exchange, type SecretKind, tableSnapshot, type World } from '#test/security/world.ts';

/**
 * The leak scan: every secret value the run handled must be absent from the captured logs, the
 * raw table items, every API response (error messages included), the audit events and the RunTask
 * input — except where the contract hands it out on purpose:
 *
 * - a container's ticket redemption answers its CLI profile and task token: the account's current
 *   access / id token or API key, and the task token (that is the route's whole point);
 * - `GET /v1/tasks/token` answers the current access token, and the Codex refresh route the current
 *   access and id tokens with the task token echoed as `refresh_token`, both to a task-token holder;
 * - RunTask carries the ticket (and nothing else secret): it is how the container gets it;
 * - a personal grant (`keyfleet sync`) is answered once, by the request that issues it, and then
 *   appears in the workstation profile it fetches and in what the Codex refresh route echoes.
 *
 * Refresh tokens, authorization codes, PKCE verifiers, device codes, OAuth client secrets, the
 * sealing key and callers' bearer tokens are allowed nowhere (no Gemini long task runs in this
 * world, the one case where a refresh token may reach a container).
 */

/** `METHOD path` → the status that hands values out, and which kinds. */
const ALLOWED_IN_RESPONSES: Record<string, { status: number; kinds: readonly SecretKind[] }> = {
  'POST /v1/tickets/redeem': { status: 200, kinds: ['access_token', 'id_token', 'api_key', 'task_token'] },
  'GET /v1/tasks/token': { status: 200, kinds: ['access_token'] },
  'POST /v1/oauth/codex/token': { status: 200, kinds: ['access_token', 'id_token', 'task_token', 'grant'] },
  'POST /v1/me/grants': { status: 201, kinds: ['grant'] },
  'GET /v1/grants/profile': { status: 200, kinds: ['access_token', 'id_token', 'api_key', 'grant'] },
};

function allowedInResponse(exchange: Exchange, kind: SecretKind): boolean {
  const allowed = ALLOWED_IN_RESPONSES[`${exchange.method} ${exchange.path.split('?')[0]}`];
  return allowed !== undefined && exchange.status === allowed.status && allowed.kinds.includes(kind);
}

/** Keyfleet's own credentials by shape: whatever response or request carried one, it is registered. */
const KEYFLEET_CREDENTIAL = /\bkf([gkt])_[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])/g;
const KIND_BY_PREFIX: Record<string, SecretKind> = { g: 'grant', k: 'ticket', t: 'task_token' };

function harvestKeyfleetCredentials(world: World): void {
  for (const exchange of world.exchanges) {
    for (const match of exchange.text.matchAll(KEYFLEET_CREDENTIAL)) {
      const kind = KIND_BY_PREFIX[match[1] ?? ''];
      if (kind && !world.secrets.has(match[0])) world.secrets.set(match[0], kind);
    }
  }
}

export interface LeakHit {
  kind: SecretKind;
  /** The first characters of the value, enough to find it, not enough to use it. */
  value: string;
  place: string;
}

export interface LeakReport {
  values: number;
  places: number;
  hits: LeakHit[];
  /** Appearances where the contract hands the value out (proof the scan sees the values at all). */
  allowed: number;
}

/** Searches every place for every registered value; returns what it found where it must not be. */
export async function scanForLeaks(world: World): Promise<LeakReport> {
  world.harvestTickets();
  world.harvestOAuthRequests();
  harvestKeyfleetCredentials(world);
  await world.harvestVault();
  const audit = await auditText(world);
  const places: { name: string; text: string; allows: (kind: SecretKind) => boolean }[] = [
    { name: 'logs', text: capturedLogs(), allows: () => false },
    { name: 'table items', text: (await tableSnapshot()).join('\n'), allows: () => false },
    { name: 'audit events', text: audit, allows: () => false },
    { name: 'RunTask input', text: world.ecs.raw.join('\n'), allows: (kind) => kind === 'ticket' },
    { name: 'helper responses (api.call)', text: world.api.responses.join('\n'), allows: () => false },
    ...world.exchanges.map((exchange, index) => ({
      name: `response #${index} ${exchange.method} ${world.scrub(exchange.path).slice(0, 80)} → ${exchange.status}`,
      text: exchange.text,
      allows: (kind: SecretKind) => allowedInResponse(exchange, kind),
    })),
  ];
  const hits: LeakHit[] = [];
  let allowed = 0;
  for (const [value, kind] of world.secrets) {
    const needles = fragmentsOf(value);
    for (const place of places) {
      if (!needles.some((needle) => place.text.includes(needle))) continue;
      if (place.allows(kind)) allowed += 1;
      else hits.push({ kind, value: value.slice(0, 8), place: place.name });
    }
  }
  return { values: world.secrets.size, places: places.length, hits, allowed };
}

/**
 * The value, and for long values two 24-character pieces of it: a message that repeats a cut-off
 * token ("…id "kft_AbC…" (40 characters)) still leaks most of it. A JWT's first pieces are its
 * header, the same for every token of an issuer, so only its tail (the signature) counts.
 */
function fragmentsOf(value: string): string[] {
  if (value.length < 40) return [value];
  const tail = value.slice(-24);
  return value.startsWith('eyJ') ? [value, tail] : [value, value.slice(4, 28), tail];
}

/** Every audit event, read through the API page by page (newest first). */
async function auditText(world: World): Promise<string> {
  const pages: string[] = [];
  let before: string | undefined;
  for (let page = 0; page < 1000; page++) {
    const query = `/v1/audit?limit=100${before ? `&before=${encodeURIComponent(before)}` : ''}`;
    const res = await world.json<{ events: unknown[]; next?: string }>('GET', query);
    if (res.status !== 200) throw new Error(`GET /v1/audit answered ${res.status}`);
    pages.push(JSON.stringify(res.body.events));
    if (!res.body.next) break;
    before = res.body.next;
  }
  return pages.join('\n');
}
