import { table } from '#shared/operator/io.ts';

/** The API's Account object, as far as the CLI shows it. */
export interface AccountView {
  id: string;
  provider: string;
  kind: string;
  label: string;
  email: string | null;
  owner: string | null;
  active: boolean;
  roundRobin: boolean;
  status: string;
  keyHint: string | null;
  endpoint: { type: string; baseUrl: string; apiVersion: string | null } | null;
  tokenExpiresAt: string | null;
  lastRefreshAt: string | null;
  lastError: string | null;
  usage?: { windows: { name: string; usedPercent: number; resetsAt: string | null }[] } | null;
}

export interface KeepaliveView {
  enabled: boolean;
  intervalHours: number;
  lastRefreshAt: string | null;
  nextRefreshAt: string | null;
  lastResult: string | null;
}

export interface ProviderView {
  id: string;
  name: string;
  signIn: string;
  activeAccountId: string | null;
  roundRobinAccountIds: string[];
  model: string | null;
  helpers: boolean;
  keepalive: KeepaliveView;
  accounts: AccountView[];
}

const when = (iso: string | null | undefined): string => (iso ? iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, 'Z') : '-');

export function providersTable(providers: ProviderView[]): string {
  return table(
    ['PROVIDER', 'SIGN-IN', 'ACCOUNTS', 'ACTIVE', 'POOL', 'MODEL', 'KEEP-ALIVE'],
    providers.map((p) => [
      p.id,
      p.signIn,
      p.accounts.length,
      p.accounts.find((a) => a.id === p.activeAccountId)?.label ?? '-',
      p.roundRobinAccountIds.length,
      p.model,
      p.keepalive.enabled ? `every ${p.keepalive.intervalHours} h` : 'off',
    ]),
  );
}

const SHORT_WINDOWS: Record<string, string> = { five_hour: '5h', seven_day: '7d' };

/** A reset time short enough for a table cell (windows reset within a week): `03-02 12:00Z`. */
const shortWhen = (iso: string): string =>
  Number.isNaN(Date.parse(iso)) ? iso : `${new Date(iso).toISOString().slice(5, 16).replace('T', ' ')}Z`;

/**
 * The USAGE column, within the table's 60-character cells: each window's percent used and reset
 * (`5h 97% until 03-02 12:00Z, 7d 40% until 03-06 00:00Z`); `unknown` for an OAuth account whose
 * provider reported no window yet; `-` for API-key and keyless accounts.
 */
export function usageText(account: Pick<AccountView, 'kind' | 'usage'>): string {
  if (account.kind !== 'oauth') return '-';
  const windows = account.usage?.windows ?? [];
  if (windows.length === 0) return 'unknown';
  return windows
    .map(
      (w) =>
        `${SHORT_WINDOWS[w.name] ?? w.name} ${w.usedPercent}%${w.resetsAt ? ` until ${shortWhen(w.resetsAt)}` : ''}`,
    )
    .join(', ');
}

export function accountsTable(accounts: AccountView[]): string {
  return table(
    ['PROVIDER', 'ID', 'LABEL', 'KIND', 'STATUS', 'ACTIVE', 'POOL', 'EMAIL/KEY', 'EXPIRES', 'USAGE'],
    accounts.map((a) => [
      a.provider,
      a.id,
      a.label,
      a.kind,
      a.status,
      a.active ? 'yes' : '',
      a.roundRobin ? 'yes' : '',
      a.email ?? a.keyHint,
      when(a.tokenExpiresAt),
      usageText(a),
    ]),
  );
}

export function keepaliveTable(entries: [string, KeepaliveView][]): string {
  return table(
    ['PROVIDER', 'ENABLED', 'INTERVAL', 'LAST REFRESH', 'NEXT REFRESH', 'LAST RESULT'],
    entries.map(([id, k]) => [
      id,
      k.enabled ? 'yes' : 'no',
      `${k.intervalHours} h`,
      when(k.lastRefreshAt),
      when(k.nextRefreshAt),
      k.lastResult,
    ]),
  );
}

/** One account, field by field, for the answer to a change. */
export function accountSummary(account: AccountView): string {
  const lines: [string, string | null][] = [
    ['id', account.id],
    ['provider', account.provider],
    ['label', account.label],
    ['kind', account.kind],
    ['status', account.status],
    ['email', account.email],
    ['key', account.keyHint],
    ['endpoint', account.endpoint ? `${account.endpoint.type} ${account.endpoint.baseUrl}` : null],
    ['active', account.active ? 'yes' : 'no'],
    ['round robin', account.roundRobin ? 'yes' : 'no'],
  ];
  return lines
    .filter(([, v]) => v !== null)
    .map(([k, v]) => `${k.padEnd(12)} ${v}`)
    .join('\n')
    .concat('\n');
}

export { when };
