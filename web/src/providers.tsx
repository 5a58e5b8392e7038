import { useEffect, useState } from 'preact/hooks';
import { AddAccountDialog } from './add-account.tsx';
import { api, attempt } from './api.ts';
import type { Account, Caller, Provider } from './types.ts';
import { Confirm, ErrorText, inputValue, LoadState, StatusText, useLoad, when } from './ui.tsx';

const KIND = { oauth: 'OAuth', api_key: 'API key', none: 'None (keyless)' } as const;
const STATUS = {
  connected: 'Connected',
  refresh_failed: 'Refresh failed',
  needs_reconnect: 'Needs reconnect',
  cooling_down: 'Cooling down',
} as const;
const FLOW = { code: 'paste a code', redirect_url: 'paste the redirected address', device: 'device code' } as const;

/** Team accounts (`team`) or the caller's own (`me`), one card per provider. */
export function ProvidersScreen({ scope, caller }: { scope: 'team' | 'me'; caller: Caller }) {
  const base = scope === 'team' ? '/v1/providers' : '/v1/me/providers';
  const loaded = useLoad(() => api<{ providers: Provider[] }>('GET', base), [base]);
  const canEdit = scope === 'me' || caller.role === 'admin';
  return (
    <section aria-labelledby={`${scope}-providers`}>
      <h2 id={`${scope}-providers`}>{scope === 'team' ? 'AI Providers' : 'My AI Providers'}</h2>
      {scope === 'team' && !canEdit && (
        <p class="muted">These are the team's accounts. Only admins change them; connect your own under Profile.</p>
      )}
      {scope === 'me' && (
        <p class="muted">
          Your own accounts: only you (and admins, read-only) see them. Your active one is your preferred account for
          launches. They never join the team's round robin.
        </p>
      )}
      <LoadState loaded={loaded} what="providers" />
      <div class="cards">
        {loaded.data?.providers.map((p) => (
          <ProviderCard key={p.id} provider={p} base={base} scope={scope} canEdit={canEdit} reload={loaded.reload} />
        ))}
      </div>
    </section>
  );
}

interface CardProps {
  provider: Provider;
  base: string;
  scope: 'team' | 'me';
  canEdit: boolean;
  reload: () => void;
}

function ProviderCard(props: CardProps) {
  const { provider } = props;
  const [adding, setAdding] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);
  const team = provider.accounts.filter((a) => props.scope === 'me' || a.owner === null);
  const personal = props.scope === 'team' ? provider.accounts.filter((a) => a.owner !== null) : [];
  return (
    <article class="card" aria-labelledby={`card-${provider.id}`}>
      <header class="card-head">
        <h3 id={`card-${provider.id}`}>{provider.name}</h3>
        {props.canEdit && (
          <button type="button" onClick={() => setAdding(true)} aria-label={`Add Account for ${provider.name}`}>
            Add Account
          </button>
        )}
      </header>
      <p class="muted small">
        Sign-in: {FLOW[provider.signIn]}. Model: {provider.model ?? 'CLI default'}.
        {provider.roundRobinAccountIds.length > 0 && ` Round robin: ${provider.roundRobinAccountIds.length} accounts.`}
      </p>
      <StatusText text={notice} tone="ok" />
      {team.length === 0 ? (
        <p class="muted">No accounts yet.</p>
      ) : (
        <ul class="accounts">
          {team.map((a) => (
            <AccountRow key={a.id} account={a} {...props} onNotice={setNotice} />
          ))}
        </ul>
      )}
      {personal.length > 0 && (
        <details>
          <summary>Members' own accounts ({personal.length}, read-only)</summary>
          <ul class="accounts">
            {personal.map((a) => (
              <AccountRow key={a.id} account={a} {...props} canEdit={false} onNotice={setNotice} />
            ))}
          </ul>
        </details>
      )}
      {adding && (
        <AddAccountDialog
          provider={provider}
          base={props.base}
          onClose={() => setAdding(false)}
          onDone={(account) => {
            setAdding(false);
            setNotice(`Added ${account.label}.`);
            props.reload();
          }}
        />
      )}
    </article>
  );
}

type RowProps = CardProps & { account: Account; onNotice: (text: string) => void };

/** The calls an account row makes; each shows its failure on the row, and a change reloads the card. */
function useAccountCalls(props: RowProps, path: string) {
  const { account, provider } = props;
  const [error, setError] = useState<string | null>(null);
  const [test, setTest] = useState<{ ok: boolean; detail: string } | null>(null);
  const run = async (call: () => Promise<unknown>, done?: string) => {
    const result = await attempt(call);
    if (!result.ok) {
      setError(result.error);
      return false;
    }
    setError(null);
    if (done) props.onNotice(done);
    props.reload();
    return true;
  };
  const runTest = async () => {
    setTest(null);
    const result = await attempt(() => api<{ ok: boolean; detail: string }>('POST', `${path}/test`));
    if (!result.ok) return setError(result.error);
    setError(null);
    setTest(result.value);
    props.reload();
  };
  const setActive = (on: boolean) =>
    run(
      () => api('PUT', `${props.base}/${provider.id}/active`, { accountId: on ? account.id : null }),
      on ? `${account.label} is now active.` : `No ${provider.name} account is active now.`,
    );
  return { error, setError, test, run, runTest, setActive };
}

function AccountRow(props: RowProps) {
  const { account, provider } = props;
  const path = `${props.base}/${provider.id}/accounts/${account.id}`;
  const { error, setError, test, run, runTest, setActive } = useAccountCalls(props, path);
  const [dialog, setDialog] = useState<'remove' | 'reconnect' | null>(null);
  return (
    <li class="account" aria-labelledby={`acc-${account.id}`}>
      <div class="account-head">
        <Label {...props} onError={setError} />
        {account.active && <span class="badge active">Active</span>}
        {account.status !== 'connected' && <span class={`badge ${account.status}`}>{STATUS[account.status]}</span>}
      </div>
      <AccountFacts account={account} />
      <UsageBars account={account} />
      <RoundRobin {...props} run={run} />
      {props.canEdit && (
        <AccountActions
          account={account}
          onActive={() => setActive(!account.active)}
          onTest={runTest}
          onDialog={setDialog}
        />
      )}
      {account.kind === 'api_key' && props.canEdit && <ReplaceKey path={path} run={run} label={account.label} />}
      {test && (
        <StatusText tone={test.ok ? 'ok' : 'bad'} text={`Test ${test.ok ? 'passed' : 'failed'}: ${test.detail}`} />
      )}
      <ErrorText error={error} />
      {dialog && <AccountDialog {...props} path={path} dialog={dialog} onClose={() => setDialog(null)} />}
    </li>
  );
}

/** Remove asks first; Reconnect signs in again with the account's label. */
function AccountDialog(props: RowProps & { path: string; dialog: 'remove' | 'reconnect'; onClose: () => void }) {
  const { account, provider } = props;
  if (props.dialog === 'remove') {
    return (
      <Confirm
        title={`Remove ${account.label}?`}
        message={`The account and its stored ${account.kind === 'oauth' ? 'tokens' : 'key'} are deleted at once. This cannot be undone.${account.active ? ` No ${provider.name} account will be active afterwards.` : ''}`}
        action="Remove"
        onClose={props.onClose}
        onConfirm={async () => {
          const result = await attempt(() => api('DELETE', props.path));
          if (!result.ok) return result.error;
          props.onNotice(`Removed ${account.label}.`);
          props.reload();
          return null;
        }}
      />
    );
  }
  return (
    <AddAccountDialog
      provider={provider}
      base={props.base}
      tab="oauth"
      label={account.label}
      title={`Reconnect ${account.label}`}
      onClose={props.onClose}
      onDone={(fresh) => {
        props.onClose();
        props.onNotice(`Signed in again as ${fresh.label}. Remove the old account once the new one works.`);
        props.reload();
      }}
    />
  );
}

/** The admin's buttons on an account: ✓ Active (click again to clear), Test, Reconnect, Remove. */
function AccountActions(props: {
  account: Account;
  onActive: () => void;
  onTest: () => void;
  onDialog: (dialog: 'remove' | 'reconnect') => void;
}) {
  const { account } = props;
  return (
    <div class="row-actions">
      <button
        type="button"
        class={account.active ? 'toggle on' : 'toggle'}
        aria-pressed={account.active}
        title={account.active ? 'Click again to clear the active account' : undefined}
        onClick={props.onActive}
      >
        <span aria-hidden="true">✓</span> {account.active ? 'Active' : 'Make active'}
        <span class="sr-only"> ({account.label})</span>
      </button>
      <button type="button" class="secondary" onClick={props.onTest}>
        Test<span class="sr-only"> {account.label}</span>
      </button>
      {account.status === 'needs_reconnect' && account.kind === 'oauth' && (
        <button type="button" onClick={() => props.onDialog('reconnect')}>
          Reconnect<span class="sr-only"> {account.label}</span>
        </button>
      )}
      <button
        type="button"
        class="icon danger"
        aria-label={`Remove ${account.label}`}
        onClick={() => props.onDialog('remove')}
      >
        <svg aria-hidden="true" viewBox="0 0 16 16" width="16" height="16" class="icon-svg">
          <path d="M6 1h4l1 1h3v2H2V2h3zM3 5h10l-1 10H4zm3 2v6h1V7zm3 0v6h1V7z" />
        </svg>
      </button>
    </div>
  );
}

/** What an account is: email, kind, status and last error, key hint, token times, endpoint, usage. */
function AccountFacts({ account }: { account: Account }) {
  return (
    <dl class="facts">
      <dt>Email</dt>
      <dd>{account.email ?? '—'}</dd>
      <dt>Kind</dt>
      <dd>{KIND[account.kind]}</dd>
      <dt>Status</dt>
      <dd>
        {STATUS[account.status]}
        {account.lastError && <span class="last-error"> — {account.lastError}</span>}
      </dd>
      {account.keyHint && (
        <>
          <dt>Key</dt>
          <dd>{account.keyHint}</dd>
        </>
      )}
      {account.kind === 'oauth' && (
        <>
          <dt>Token expires</dt>
          <dd>{when(account.tokenExpiresAt)}</dd>
          <dt>Last refresh</dt>
          <dd>{when(account.lastRefreshAt)}</dd>
        </>
      )}
      <dt>Endpoint</dt>
      <dd>
        {account.endpoint
          ? `${account.endpoint.type}, ${account.endpoint.baseUrl}${account.endpoint.apiVersion ? `, API version ${account.endpoint.apiVersion}` : ''}`
          : "The CLI's own"}
      </dd>
      {account.owner && (
        <>
          <dt>Owner</dt>
          <dd>{account.owner}</dd>
        </>
      )}
      {account.cooldownUntil && account.status === 'cooling_down' && (
        <>
          <dt>Cooling down until</dt>
          <dd>{when(account.cooldownUntil)}</dd>
        </>
      )}
    </dl>
  );
}

const WINDOW_NAMES: Record<string, string> = { five_hour: '5-hour window', seven_day: '7-day window' };

/** `five_hour` → `5-hour window`; other names (`seven_day_opus`, `window_3600s`) with spaces. */
function windowName(name: string): string {
  return WINDOW_NAMES[name] ?? name.replaceAll('_', ' ');
}

/**
 * An OAuth account's allowance: a labelled meter per window with its percent and reset time, the
 * plan and when it was read; "unknown" until the provider has reported a window.
 */
function UsageBars({ account }: { account: Account }) {
  if (account.kind !== 'oauth') return null;
  const usage = account.usage ?? null;
  const headingId = `usage-${account.id}`;
  return (
    <section class="usage" aria-labelledby={headingId}>
      <h5 id={headingId}>Usage{usage?.plan ? ` (plan ${usage.plan})` : ''}</h5>
      {!usage || usage.windows.length === 0 ? (
        <p class="muted small">Usage: unknown{usage ? ` (read ${when(usage.readAt)})` : ''}</p>
      ) : (
        <>
          <ul class="usage-windows">
            {usage.windows.map((w) => {
              const id = `${headingId}-${w.name}`;
              const name = windowName(w.name);
              return (
                <li key={w.name}>
                  <label for={id}>{name}</label>
                  <meter id={id} min={0} max={100} low={80} high={95} optimum={0} value={w.usedPercent}>
                    {w.usedPercent}%
                  </meter>
                  <span class="small">
                    {w.usedPercent}% used, {w.resetsAt ? `resets ${when(w.resetsAt)}` : 'reset time unknown'}
                  </span>
                </li>
              );
            })}
          </ul>
          <p class="muted small">Read {when(usage.readAt)}</p>
        </>
      )}
    </section>
  );
}

/** The account's name, with a pencil to rename it in place. */
function Label(props: RowProps & { onError: (e: string | null) => void }) {
  const { account } = props;
  const [editing, setEditing] = useState(false);
  if (editing) return <RenameForm {...props} onClose={() => setEditing(false)} />;
  return (
    <div class="account-label">
      <h4 id={`acc-${account.id}`}>{account.label}</h4>
      {props.canEdit && (
        <button type="button" class="icon" aria-label={`Rename ${account.label}`} onClick={() => setEditing(true)}>
          <span aria-hidden="true">✎</span>
        </button>
      )}
    </div>
  );
}

/** The name in an input, starting from the current one; Escape or Cancel closes it unchanged. */
function RenameForm(props: RowProps & { onError: (e: string | null) => void; onClose: () => void }) {
  const { account } = props;
  const [value, setValue] = useState(account.label);
  const save = async (event: Event) => {
    event.preventDefault();
    const path = `${props.base}/${props.provider.id}/accounts/${account.id}`;
    const result = await attempt(() => api('PATCH', path, { label: value }));
    if (!result.ok) return props.onError(result.error);
    props.onError(null);
    props.onClose();
    props.onNotice(`Renamed to ${value.trim()}.`);
    props.reload();
  };
  return (
    <form class="rename" onSubmit={save} noValidate>
      <label class="sr-only" for={`rename-${account.id}`}>
        New name for {account.label}
      </label>
      <input
        id={`rename-${account.id}`}
        value={value}
        maxLength={100}
        // biome-ignore lint/a11y/noAutofocus: the pencil was pressed to type here
        autoFocus
        onInput={(e) => setValue(inputValue(e))}
        onKeyDown={(e) => {
          if (e.key !== 'Escape') return;
          e.preventDefault();
          props.onClose();
        }}
      />
      <button type="submit">Save</button>
      <button type="button" class="secondary" onClick={props.onClose}>
        Cancel
      </button>
    </form>
  );
}

/** The round-robin switch on team OAuth accounts, and why it is missing everywhere else. */
function RoundRobin(props: RowProps & { run: (call: () => Promise<unknown>, done?: string) => Promise<boolean> }) {
  const { account } = props;
  if (account.owner !== null || props.scope === 'me') {
    return <p class="muted small">Round robin: personal accounts never join the team's pool.</p>;
  }
  if (account.kind !== 'oauth') {
    return (
      <p class="muted small">
        Round robin: for OAuth sign-ins only. An active API key is used before the pool; keys are not pooled.
      </p>
    );
  }
  if (!props.canEdit) return <p class="muted small">Round robin: {account.roundRobin ? 'in the pool' : 'off'}.</p>;
  return <PoolSwitch {...props} />;
}

/** The switch itself; it shows the new position at once and goes back if the API refuses. */
function PoolSwitch(props: RowProps & { run: (call: () => Promise<unknown>, done?: string) => Promise<boolean> }) {
  const { account } = props;
  const [on, setOn] = useState(account.roundRobin);
  useEffect(() => setOn(account.roundRobin), [account.roundRobin]);
  const path = `${props.base}/${props.provider.id}/accounts/${account.id}`;
  return (
    <div class="field check">
      <input
        type="checkbox"
        role="switch"
        id={`rr-${account.id}`}
        checked={on}
        aria-checked={on}
        onChange={async (e) => {
          const wanted = e.currentTarget.checked;
          setOn(wanted);
          const ok = await props.run(
            () => api('PATCH', path, { roundRobin: wanted }),
            wanted ? `${account.label} joined the round robin.` : `${account.label} left the round robin.`,
          );
          if (!ok) setOn(!wanted);
        }}
      />
      <label for={`rr-${account.id}`}>Round robin ({account.label})</label>
    </div>
  );
}

/** Replaces an API key in place (a new secret version); the old key is never shown. */
function ReplaceKey(props: {
  path: string;
  label: string;
  run: (call: () => Promise<unknown>, done?: string) => Promise<boolean>;
}) {
  const [open, setOpen] = useState(false);
  const [key, setKey] = useState('');
  if (!open) {
    return (
      <button type="button" class="link" onClick={() => setOpen(true)}>
        Replace key<span class="sr-only"> of {props.label}</span>
      </button>
    );
  }
  return (
    <form
      class="rename"
      noValidate
      onSubmit={async (event) => {
        event.preventDefault();
        if (!(await props.run(() => api('PATCH', props.path, { apiKey: key }), `Replaced the key of ${props.label}.`)))
          return;
        setKey('');
        setOpen(false);
      }}
    >
      <label for={`key-${props.path}`}>New API key</label>
      <input
        id={`key-${props.path}`}
        type="password"
        autoComplete="new-password"
        value={key}
        onInput={(e) => setKey(inputValue(e))}
      />
      <button type="submit">Save key</button>
      <button
        type="button"
        class="secondary"
        onClick={() => {
          setKey('');
          setOpen(false);
        }}
      >
        Cancel
      </button>
    </form>
  );
}
