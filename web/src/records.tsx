import { useState } from 'preact/hooks';
import { ApiError, api, attempt } from './api.ts';
import { providerName } from './settings.tsx';
import { type AuditEvent, type FinanceRecord, type Launch, PROVIDERS, type ProviderId } from './types.ts';
import { ErrorText, inputValue, LoadState, StatusText, useLoad, when } from './ui.tsx';

const PAGE = 25;

/** Page cursors: the `before` of each page seen so far, so Newer can go back. */
function usePages() {
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const before = cursors.at(-1);
  return {
    before,
    first: cursors.length === 1,
    older: (next: string) => setCursors([...cursors, next]),
    newer: () => setCursors(cursors.slice(0, -1)),
    reset: () => setCursors([undefined]),
  };
}

function ProviderFilter(props: { id: string; value: string; onChange: (v: string) => void }) {
  return (
    <div class="field">
      <label for={props.id}>Provider</label>
      <select id={props.id} value={props.value} onChange={(e) => props.onChange(inputValue(e))}>
        <option value="">All providers</option>
        {PROVIDERS.map((p) => (
          <option key={p} value={p}>
            {providerName(p)}
          </option>
        ))}
      </select>
    </div>
  );
}

function Pager(props: { first: boolean; next?: string; onNewer: () => void; onOlder: (n: string) => void }) {
  return (
    <div class="actions pager">
      <button type="button" class="secondary" disabled={props.first} onClick={props.onNewer}>
        Newer
      </button>
      <button
        type="button"
        class="secondary"
        disabled={!props.next}
        onClick={() => props.next && props.onOlder(props.next)}
      >
        Older
      </button>
    </div>
  );
}

/** Audit log: newest first, a page at a time, filtered by provider and account. */
export function AuditScreen() {
  const pages = usePages();
  const [provider, setProvider] = useState('');
  const [account, setAccount] = useState('');
  const loaded = useLoad(() => {
    const query = new URLSearchParams({ limit: String(PAGE) });
    if (pages.before) query.set('before', pages.before);
    return api<{ events: AuditEvent[]; next?: string }>('GET', `/v1/audit?${query}`);
  }, [pages.before]);
  const events = (loaded.data?.events ?? []).filter(
    (e) => (!provider || e.provider === provider) && (!account || e.accountId === account),
  );
  const accountIds = [...new Set((loaded.data?.events ?? []).map((e) => e.accountId).filter((a): a is string => !!a))];
  return (
    <section aria-labelledby="audit-title">
      <h2 id="audit-title">Audit log</h2>
      <div class="filters">
        <ProviderFilter id="audit-provider" value={provider} onChange={setProvider} />
        <div class="field">
          <label for="audit-account">Account</label>
          <select id="audit-account" value={account} onChange={(e) => setAccount(inputValue(e))}>
            <option value="">All accounts</option>
            {accountIds.map((a) => (
              <option key={a} value={a}>
                {a}
              </option>
            ))}
          </select>
        </div>
      </div>
      <LoadState loaded={loaded} what="the audit log" />
      <AuditTable events={events} />
      {loaded.data && events.length === 0 && <p class="muted">No events on this page match.</p>}
      <Pager first={pages.first} next={loaded.data?.next} onNewer={pages.newer} onOlder={pages.older} />
    </section>
  );
}

function AuditTable({ events }: { events: AuditEvent[] }) {
  return (
    <table class="records">
      <caption class="sr-only">Audit events, newest first</caption>
      <thead>
        <tr>
          <th scope="col">When</th>
          <th scope="col">Who</th>
          <th scope="col">What</th>
          <th scope="col">Provider</th>
          <th scope="col">Account</th>
          <th scope="col">Detail</th>
        </tr>
      </thead>
      <tbody>
        {events.map((e, i) => (
          <tr key={`${e.at}-${i}`}>
            <td>{when(e.at)}</td>
            <td>{e.actor}</td>
            <td>{e.action}</td>
            <td>{e.provider ?? ''}</td>
            <td>{e.accountId ?? ''}</td>
            <td class="detail">{e.detail ? JSON.stringify(e.detail) : ''}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Finance: how each provider is paid for. */
export function FinanceScreen() {
  const loaded = useLoad(() => api<{ records: FinanceRecord[] }>('GET', '/v1/finance'));
  return (
    <section aria-labelledby="finance-title">
      <h2 id="finance-title">Finance</h2>
      <p class="muted">A provider's record appears with its first account. Empty fields are cleared.</p>
      <LoadState loaded={loaded} what="finance records" />
      {loaded.data?.records.length === 0 && <p class="muted">No records yet: connect an account first.</p>}
      <div class="cards">
        {loaded.data?.records.map((r) => (
          <FinanceCard key={r.provider} record={r} reload={loaded.reload} />
        ))}
      </div>
    </section>
  );
}

type FinanceForm = Pick<FinanceRecord, 'billing' | 'status'> & {
  plan: string;
  monthlyBudgetUsd: string;
  costCenter: string;
  owner: string;
};

/** The PATCH body: every field, with empty ones cleared (null). */
function financeBody(form: FinanceForm) {
  return {
    billing: form.billing,
    status: form.status,
    plan: form.plan.trim() || null,
    monthlyBudgetUsd: form.monthlyBudgetUsd.trim() === '' ? null : Number(form.monthlyBudgetUsd),
    costCenter: form.costCenter.trim() || null,
    owner: form.owner.trim() || null,
  };
}

function FinanceCard(props: { record: FinanceRecord; reload: () => void }) {
  const { record } = props;
  const [form, setForm] = useState<FinanceForm>({
    billing: record.billing,
    status: record.status,
    plan: record.plan ?? '',
    monthlyBudgetUsd: record.monthlyBudgetUsd === undefined ? '' : String(record.monthlyBudgetUsd),
    costCenter: record.costCenter ?? '',
    owner: record.owner ?? '',
  });
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const id = `fin-${record.provider}`;
  const save = async (event: Event) => {
    event.preventDefault();
    setSaved(null);
    const result = await attempt(() => api('PATCH', `/v1/finance/${record.provider}`, financeBody(form)));
    if (!result.ok) return setError(result.error);
    setError(null);
    setSaved('Saved.');
    props.reload();
  };
  return (
    <form class="card" onSubmit={save} noValidate aria-labelledby={id}>
      <h3 id={id}>{providerName(record.provider)}</h3>
      <FinanceFields id={id} form={form} onChange={setForm} />
      <ErrorText error={error} />
      <StatusText text={saved} tone="ok" />
      <div class="actions">
        <button type="submit">Save {providerName(record.provider)}</button>
      </div>
    </form>
  );
}

/** Billing and status, then the free-text fields. */
function FinanceFields(props: { id: string; form: FinanceForm; onChange: (form: FinanceForm) => void }) {
  const { id, form } = props;
  const text = (field: 'plan' | 'costCenter' | 'owner' | 'monthlyBudgetUsd', label: string, numeric = false) => (
    <div class="field">
      <label for={`${id}-${field}`}>{label}</label>
      <input
        id={`${id}-${field}`}
        inputMode={numeric ? 'decimal' : undefined}
        value={form[field]}
        onInput={(e) => props.onChange({ ...form, [field]: inputValue(e) })}
      />
    </div>
  );
  return (
    <>
      <div class="field">
        <label for={`${id}-billing`}>Billing</label>
        <select
          id={`${id}-billing`}
          value={form.billing}
          onChange={(e) => props.onChange({ ...form, billing: inputValue(e) as FinanceRecord['billing'] })}
        >
          <option value="subscription">Subscription</option>
          <option value="usage">Usage</option>
          <option value="none">None</option>
        </select>
      </div>
      <div class="field">
        <label for={`${id}-status`}>Status</label>
        <select
          id={`${id}-status`}
          value={form.status}
          onChange={(e) => props.onChange({ ...form, status: inputValue(e) as FinanceRecord['status'] })}
        >
          <option value="incomplete">Incomplete</option>
          <option value="complete">Complete</option>
        </select>
      </div>
      {text('plan', 'Plan')}
      {text('monthlyBudgetUsd', 'Monthly budget (USD)', true)}
      {text('costCenter', 'Cost center')}
      {text('owner', 'Owner')}
    </>
  );
}

/** Lists launches; a server without the route shows an empty list and says so. */
async function loadLaunches(query: URLSearchParams) {
  try {
    return { ...(await api<{ launches: Launch[]; next?: string }>('GET', `/v1/launches?${query}`)), listed: true };
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return { launches: [] as Launch[], listed: false };
    throw error;
  }
}

/** Launches: recent tasks (admins: everyone's; members: their own). */
export function LaunchesScreen() {
  const pages = usePages();
  const [provider, setProvider] = useState('');
  const [open, setOpen] = useState<string | null>(null);
  const loaded = useLoad(() => {
    const query = new URLSearchParams({ limit: String(PAGE) });
    if (pages.before) query.set('before', pages.before);
    if (provider) query.set('provider', provider);
    return loadLaunches(query);
  }, [pages.before, provider]);
  return (
    <section aria-labelledby="launches-title">
      <h2 id="launches-title">Launches</h2>
      <div class="filters">
        <ProviderFilter
          id="launch-provider"
          value={provider}
          onChange={(v) => {
            pages.reset();
            setProvider(v);
          }}
        />
      </div>
      <LoadState loaded={loaded} what="launches" />
      {loaded.data && !loaded.data.listed && <p class="muted">This server does not list launches yet.</p>}
      {loaded.data?.listed && loaded.data.launches.length === 0 && <p class="muted">No launches yet.</p>}
      {!!loaded.data?.launches.length && (
        <LaunchesTable
          launches={loaded.data.launches}
          open={open}
          onToggle={(id) => setOpen(open === id ? null : id)}
        />
      )}
      {open && <LaunchDetail id={open} />}
      <Pager first={pages.first} next={loaded.data?.next} onNewer={pages.newer} onOlder={pages.older} />
    </section>
  );
}

function LaunchesTable(props: { launches: Launch[]; open: string | null; onToggle: (id: string) => void }) {
  return (
    <table class="records">
      <caption class="sr-only">Launches, newest first</caption>
      <thead>
        <tr>
          <th scope="col">Started</th>
          <th scope="col">Provider</th>
          <th scope="col">Account</th>
          <th scope="col">Caller</th>
          <th scope="col">Status</th>
          <th scope="col">Stopped</th>
          <th scope="col">Warnings</th>
          <th scope="col">
            <span class="sr-only">Details</span>
          </th>
        </tr>
      </thead>
      <tbody>
        {props.launches.map((l) => (
          <tr key={l.id}>
            <td>{when(l.createdAt)}</td>
            <td>{providerName(l.provider as ProviderId)}</td>
            <td>{l.accountLabel}</td>
            <td>{l.callerId}</td>
            <td>
              <span class={`badge ${l.status}`}>{l.status}</span>
            </td>
            <td>{when(l.stoppedAt)}</td>
            <td>{l.warnings.length ? l.warnings.join(' ') : '—'}</td>
            <td>
              <button
                type="button"
                class="link"
                aria-expanded={props.open === l.id}
                onClick={() => props.onToggle(l.id)}
              >
                Details<span class="sr-only"> of {l.id}</span>
              </button>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function LaunchDetail({ id }: { id: string }) {
  const loaded = useLoad(() => api<{ launch: Launch }>('GET', `/v1/launches/${encodeURIComponent(id)}`), [id]);
  const l = loaded.data?.launch;
  return (
    <article class="card" aria-labelledby="launch-detail">
      <h3 id="launch-detail">Launch {id}</h3>
      <LoadState loaded={loaded} what="the launch" />
      {l && (
        <dl class="facts">
          <dt>Task</dt>
          <dd>{l.taskArn}</dd>
          <dt>Delivery</dt>
          <dd>{l.delivery ?? 'ticket'}</dd>
          <dt>Model</dt>
          <dd>{l.model ?? '—'}</dd>
          <dt>Effort</dt>
          <dd>{l.effort ?? '—'}</dd>
          <dt>Expires</dt>
          <dd>{when(l.expiresAt)}</dd>
          {l.usage && (
            <>
              <dt>Requests</dt>
              <dd>{l.usage.requests}</dd>
              <dt>Tokens in / out</dt>
              <dd>
                {l.usage.inputTokens} / {l.usage.outputTokens}
              </dd>
            </>
          )}
        </dl>
      )}
    </article>
  );
}
