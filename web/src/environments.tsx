import { useState } from 'preact/hooks';
import { ApiError, api, attempt } from './api.ts';
import { providerName } from './settings.tsx';
import { type Environment, PROVIDERS, type ProviderId } from './types.ts';
import { Confirm, ErrorText, inputValue, LoadState, StatusText, useLoad } from './ui.tsx';

/** Lists environments; a server without the list route still shows `default`. */
async function loadEnvironments(): Promise<{ environments: Environment[]; listed: boolean }> {
  try {
    return { ...(await api<{ environments: Environment[] }>('GET', '/v1/environments')), listed: true };
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 404) throw error;
    const fallback = await api<Environment>('GET', '/v1/environments/default').catch(() => null);
    return { environments: fallback ? [fallback] : [], listed: false };
  }
}

/** Environments: per-environment agent, model and effort overrides. */
export function EnvironmentsScreen() {
  const loaded = useLoad(loadEnvironments);
  const [name, setName] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const create = async (event: Event) => {
    event.preventDefault();
    const wanted = name.trim();
    const result = await attempt(() => api('PUT', `/v1/environments/${encodeURIComponent(wanted)}`, { providers: {} }));
    if (!result.ok) return setError(result.error);
    setError(null);
    setName('');
    setNotice(`Created ${wanted}.`);
    loaded.reload();
  };
  return (
    <section aria-labelledby="env-title">
      <h2 id="env-title">Environments</h2>
      <p class="muted">
        A launch names an environment (default: <code>default</code>); its model and effort apply unless the task or the
        user's preferences set them.
      </p>
      <form class="inline" onSubmit={create} noValidate>
        <label for="env-name">New environment name</label>
        <input id="env-name" value={name} onInput={(e) => setName(inputValue(e))} placeholder="e.g. staging" />
        <button type="submit">Create environment</button>
      </form>
      <ErrorText error={error} />
      <StatusText text={notice} tone="ok" />
      <LoadState loaded={loaded} what="environments" />
      {loaded.data && !loaded.data.listed && (
        <p class="muted">This server does not list environments yet: only default is shown.</p>
      )}
      <div class="cards">
        {loaded.data?.environments.map((env) => (
          <EnvironmentCard key={env.name} env={env} reload={loaded.reload} onNotice={setNotice} />
        ))}
      </div>
    </section>
  );
}

type Choices = Record<string, { model: string; effort: string }>;

/** The PUT body: the agent when set, and only the providers with a model or an effort. */
function environmentBody(agent: string, choices: Choices) {
  const providers: Environment['providers'] = {};
  for (const p of PROVIDERS) {
    const c = choices[p];
    if (!c || (!c.model.trim() && !c.effort.trim())) continue;
    providers[p] = {
      ...(c.model.trim() ? { model: c.model.trim() } : {}),
      ...(c.effort.trim() ? { effort: c.effort.trim() } : {}),
    };
  }
  return { ...(agent ? { agent } : {}), providers };
}

function EnvironmentCard(props: { env: Environment; reload: () => void; onNotice: (s: string) => void }) {
  const { env } = props;
  const [agent, setAgent] = useState(env.agent ?? '');
  const [choices, setChoices] = useState<Choices>(() =>
    Object.fromEntries(
      PROVIDERS.map((p) => [p, { model: env.providers?.[p]?.model ?? '', effort: env.providers?.[p]?.effort ?? '' }]),
    ),
  );
  const [error, setError] = useState<string | null>(null);
  const [removing, setRemoving] = useState(false);
  const save = async (event: Event) => {
    event.preventDefault();
    const body = environmentBody(agent, choices);
    const result = await attempt(() => api('PUT', `/v1/environments/${encodeURIComponent(env.name)}`, body));
    if (!result.ok) return setError(result.error);
    setError(null);
    props.onNotice(`Saved ${env.name}.`);
    props.reload();
  };
  const id = `env-${env.name}`;
  return (
    <form class="card" onSubmit={save} noValidate aria-labelledby={id}>
      <h3 id={id}>{env.name}</h3>
      <div class="field">
        <label for={`${id}-agent`}>Agent</label>
        <select id={`${id}-agent`} value={agent} onChange={(e) => setAgent(inputValue(e))}>
          <option value="">Not set</option>
          {PROVIDERS.map((p) => (
            <option key={p} value={p}>
              {providerName(p)}
            </option>
          ))}
        </select>
      </div>
      <ChoicesTable name={env.name} choices={choices} onChange={setChoices} />
      <ErrorText error={error} />
      <div class="actions">
        {env.name !== 'default' && (
          <button type="button" class="danger" onClick={() => setRemoving(true)}>
            Delete {env.name}
          </button>
        )}
        <button type="submit">Save {env.name}</button>
      </div>
      {removing && <DeleteEnvironment {...props} onClose={() => setRemoving(false)} />}
    </form>
  );
}

/** Model and effort per provider in one environment. */
function ChoicesTable(props: { name: string; choices: Choices; onChange: (choices: Choices) => void }) {
  const { name, choices } = props;
  const set = (p: ProviderId, field: 'model' | 'effort', value: string) =>
    props.onChange({ ...choices, [p]: { ...(choices[p] ?? { model: '', effort: '' }), [field]: value } });
  return (
    <table>
      <caption class="sr-only">Model and effort per provider in {name}</caption>
      <thead>
        <tr>
          <th scope="col">Provider</th>
          <th scope="col">Model</th>
          <th scope="col">Effort</th>
        </tr>
      </thead>
      <tbody>
        {PROVIDERS.map((p) => (
          <tr key={p}>
            <th scope="row">{providerName(p)}</th>
            <td>
              <input
                aria-label={`${providerName(p)} model in ${name}`}
                value={choices[p]?.model ?? ''}
                onInput={(e) => set(p, 'model', inputValue(e))}
              />
            </td>
            <td>
              <input
                aria-label={`${providerName(p)} effort in ${name}`}
                value={choices[p]?.effort ?? ''}
                onInput={(e) => set(p, 'effort', inputValue(e))}
              />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Asks before deleting an environment (`default` cannot be deleted). */
function DeleteEnvironment(props: {
  env: Environment;
  reload: () => void;
  onNotice: (s: string) => void;
  onClose: () => void;
}) {
  const { name } = props.env;
  return (
    <Confirm
      title={`Delete ${name}?`}
      message="Launches that name this environment fall back to the provider settings."
      action="Delete"
      onClose={props.onClose}
      onConfirm={async () => {
        const result = await attempt(() => api('DELETE', `/v1/environments/${encodeURIComponent(name)}`));
        if (!result.ok) return result.error;
        props.onNotice(`Deleted ${name}.`);
        props.reload();
        return null;
      }}
    />
  );
}
