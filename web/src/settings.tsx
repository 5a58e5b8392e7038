import { useState } from 'preact/hooks';
import { api, attempt } from './api.ts';
import { type KeepaliveSettings, PROVIDERS, type Provider, type ProviderId, type Settings } from './types.ts';
import { ErrorText, inputValue, LoadState, StatusText, useLoad, when } from './ui.tsx';

const NAMES: Record<ProviderId, string> = {
  claude: 'Claude',
  codex: 'Codex',
  gemini: 'Gemini',
  bob: 'Bob',
  grok: 'Grok',
};

/** A provider's display name, from the API when loaded. */
export function providerName(id: ProviderId, providers?: Provider[]): string {
  return providers?.find((p) => p.id === id)?.name ?? NAMES[id];
}

/** Agent Keepalive: per provider, on or off, the interval, and how the last sweep went. */
export function KeepaliveScreen() {
  const loaded = useLoad(() => api<Settings>('GET', '/v1/settings'));
  return (
    <section aria-labelledby="keepalive-title">
      <h2 id="keepalive-title">Agent Keepalive</h2>
      <p class="muted">
        Keyfleet refreshes OAuth accounts every interval (1–24 hours), and sooner when a token is about to expire.
      </p>
      <LoadState loaded={loaded} what="settings" />
      {loaded.data && (
        <div class="cards">
          {PROVIDERS.map((id) => {
            const current = loaded.data?.keepalive[id];
            return current ? <KeepaliveCard key={id} id={id} current={current} reload={loaded.reload} /> : null;
          })}
        </div>
      )}
    </section>
  );
}

function KeepaliveCard(props: { id: ProviderId; current: KeepaliveSettings; reload: () => void }) {
  const { id, current } = props;
  const [enabled, setEnabled] = useState(current.enabled);
  const [hours, setHours] = useState(String(current.intervalHours));
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const save = async (event: Event) => {
    event.preventDefault();
    setSaved(null);
    const intervalHours = Number(hours);
    const result = await attempt(() =>
      api('PATCH', '/v1/settings', {
        keepalive: { [id]: { enabled, intervalHours: hours.trim() === '' ? Number.NaN : intervalHours } },
      }),
    );
    if (!result.ok) return setError(result.error);
    setError(null);
    setSaved(`Saved: ${NAMES[id]} keep-alive ${enabled ? `every ${intervalHours} h` : 'off'}.`);
    props.reload();
  };
  return (
    <form class="card" onSubmit={save} noValidate aria-labelledby={`ka-${id}`}>
      <h3 id={`ka-${id}`}>{NAMES[id]}</h3>
      <div class="field check">
        <input
          id={`ka-on-${id}`}
          type="checkbox"
          role="switch"
          checked={enabled}
          aria-checked={enabled}
          onChange={(e) => setEnabled(e.currentTarget.checked)}
        />
        <label for={`ka-on-${id}`}>Keep {NAMES[id]} tokens fresh</label>
      </div>
      <div class="field">
        <label for={`ka-h-${id}`}>Interval (hours, 1–24)</label>
        <input
          id={`ka-h-${id}`}
          type="number"
          min={1}
          max={24}
          step={1}
          value={hours}
          onInput={(e) => setHours(inputValue(e))}
        />
      </div>
      <SweepFacts current={current} />
      <ErrorText error={error} />
      <StatusText text={saved} tone="ok" />
      <div class="actions">
        <button type="submit">Save {NAMES[id]}</button>
      </div>
    </form>
  );
}

/** How the keep-alive sweep last went for a provider, and when it runs next. */
function SweepFacts({ current }: { current: KeepaliveSettings }) {
  return (
    <dl class="facts">
      <dt>Last refresh</dt>
      <dd>{when(current.lastRefreshAt)}</dd>
      <dt>Next refresh</dt>
      <dd>{when(current.nextRefreshAt)}</dd>
      <dt>Last result</dt>
      <dd>{current.lastResult ?? '—'}</dd>
    </dl>
  );
}

/** Models / General: the default agent (helpers use it) and the model per provider. */
export function ModelsScreen() {
  const loaded = useLoad(() => api<Settings>('GET', '/v1/settings'));
  return (
    <section aria-labelledby="models-title">
      <h2 id="models-title">Models / General</h2>
      <LoadState loaded={loaded} what="settings" />
      {loaded.data && <ModelsForm settings={loaded.data} reload={loaded.reload} />}
    </section>
  );
}

function ModelsForm(props: { settings: Settings; reload: () => void }) {
  const [agent, setAgent] = useState(props.settings.defaultAgent);
  const [models, setModels] = useState<Record<string, string>>(() =>
    Object.fromEntries(PROVIDERS.map((p) => [p, props.settings.models[p] ?? ''])),
  );
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const save = async (event: Event) => {
    event.preventDefault();
    setSaved(null);
    const body = {
      defaultAgent: agent,
      models: Object.fromEntries(PROVIDERS.map((p) => [p, models[p]?.trim() ? models[p]?.trim() : null])),
    };
    const result = await attempt(() => api('PATCH', '/v1/settings', body));
    if (!result.ok) return setError(result.error);
    setError(null);
    setSaved('Saved.');
    props.reload();
  };
  return (
    <form class="card" onSubmit={save} noValidate>
      <div class="field">
        <label for="default-agent">Default agent</label>
        <select id="default-agent" value={agent} onChange={(e) => setAgent(inputValue(e) as ProviderId)}>
          {PROVIDERS.map((p) => (
            <option key={p} value={p}>
              {NAMES[p]}
            </option>
          ))}
        </select>
        <small class="hint">The task-name and commit-message helpers use this provider's API-key account.</small>
      </div>
      <fieldset>
        <legend>Model per provider (empty: the CLI's default)</legend>
        {PROVIDERS.map((p) => (
          <div class="field" key={p}>
            <label for={`model-${p}`}>{NAMES[p]} model</label>
            <input
              id={`model-${p}`}
              value={models[p] ?? ''}
              onInput={(e) => setModels({ ...models, [p]: inputValue(e) })}
            />
          </div>
        ))}
      </fieldset>
      <ErrorText error={error} />
      <StatusText text={saved} tone="ok" />
      <div class="actions">
        <button type="submit">Save models</button>
      </div>
    </form>
  );
}
