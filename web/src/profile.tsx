import { useState } from 'preact/hooks';
import { api, attempt } from './api.ts';
import { ProvidersScreen } from './providers.tsx';
import { providerName } from './settings.tsx';
import { type Caller, type Choice, PROVIDERS, type Preferences, type Provider, type ProviderId } from './types.ts';
import { ErrorText, inputValue, LoadState, StatusText, useLoad } from './ui.tsx';

/** Profile: who you are, your own accounts, and your launch preferences. */
export function ProfileScreen({ caller }: { caller: Caller }) {
  return (
    <>
      <section aria-labelledby="profile-title">
        <h2 id="profile-title">Profile</h2>
        <p>
          Signed in as <strong>{caller.id}</strong> ({caller.role}).
        </p>
      </section>
      <ProvidersScreen scope="me" caller={caller} />
      <PreferencesSection />
    </>
  );
}

interface PreferenceData {
  preferences: Preferences;
  team: Provider[];
  own: Provider[];
}

async function loadPreferences(): Promise<PreferenceData> {
  const [preferences, team, own] = await Promise.all([
    api<Preferences>('GET', '/v1/me/preferences'),
    api<{ providers: Provider[] }>('GET', '/v1/providers'),
    api<{ providers: Provider[] }>('GET', '/v1/me/providers'),
  ]);
  return { preferences, team: team.providers, own: own.providers };
}

function PreferencesSection() {
  const loaded = useLoad(loadPreferences);
  return (
    <section aria-labelledby="prefs-title">
      <h2 id="prefs-title">Preferences</h2>
      <p class="muted">Used for your launches unless a task says otherwise.</p>
      <LoadState loaded={loaded} what="preferences" />
      {loaded.data && <PreferencesForm data={loaded.data} reload={loaded.reload} />}
    </section>
  );
}

type Draft = Record<string, Required<Choice>>;

/** The PUT body: per provider only what was chosen, trimmed. */
function preferencesBody(choices: Draft): Preferences {
  const providers: Preferences['providers'] = {};
  for (const p of PROVIDERS) {
    const c = choices[p];
    if (!c) continue;
    const entry: Choice = {};
    if (c.preferredAccountId) entry.preferredAccountId = c.preferredAccountId;
    if (c.model.trim()) entry.model = c.model.trim();
    if (c.effort.trim()) entry.effort = c.effort.trim();
    if (Object.keys(entry).length) providers[p] = entry;
  }
  return { providers };
}

function PreferencesForm(props: { data: PreferenceData; reload: () => void }) {
  const { data } = props;
  const [choices, setChoices] = useState<Draft>(() =>
    Object.fromEntries(
      PROVIDERS.map((p) => {
        const c = data.preferences.providers?.[p] ?? {};
        return [p, { preferredAccountId: c.preferredAccountId ?? '', model: c.model ?? '', effort: c.effort ?? '' }];
      }),
    ),
  );
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const set = (p: ProviderId, field: keyof Choice, value: string) =>
    setChoices({
      ...choices,
      [p]: { ...(choices[p] ?? { preferredAccountId: '', model: '', effort: '' }), [field]: value },
    });
  const save = async (event: Event) => {
    event.preventDefault();
    setSaved(null);
    const result = await attempt(() => api('PUT', '/v1/me/preferences', preferencesBody(choices)));
    if (!result.ok) return setError(result.error);
    setError(null);
    setSaved('Preferences saved.');
    props.reload();
  };
  return (
    <form class="card" onSubmit={save} noValidate>
      <table>
        <caption class="sr-only">Preferred account, model and effort per provider</caption>
        <thead>
          <tr>
            <th scope="col">Provider</th>
            <th scope="col">Preferred account</th>
            <th scope="col">Model</th>
            <th scope="col">Effort</th>
          </tr>
        </thead>
        <tbody>
          {PROVIDERS.map((p) => (
            <PreferenceRow key={p} provider={p} data={data} choice={choices[p]} onChange={set} />
          ))}
        </tbody>
      </table>
      <ErrorText error={error} />
      <StatusText text={saved} tone="ok" />
      <div class="actions">
        <button type="submit">Save preferences</button>
      </div>
    </form>
  );
}

/** The accounts one may prefer for a provider: one's own, then the team's. */
function accountsOf(data: PreferenceData, p: ProviderId): { id: string; label: string }[] {
  return [
    ...(data.own.find((x) => x.id === p)?.accounts ?? []).map((a) => ({ id: a.id, label: `${a.label} (mine)` })),
    ...(data.team.find((x) => x.id === p)?.accounts ?? [])
      .filter((a) => a.owner === null)
      .map((a) => ({ id: a.id, label: `${a.label} (team)` })),
  ];
}

/** One provider's preferred account, model and effort. */
function PreferenceRow(props: {
  provider: ProviderId;
  data: PreferenceData;
  choice: Required<Choice> | undefined;
  onChange: (p: ProviderId, field: keyof Choice, value: string) => void;
}) {
  const { provider: p, choice } = props;
  return (
    <tr>
      <th scope="row">{providerName(p, props.data.team)}</th>
      <td>
        <select
          aria-label={`Preferred ${providerName(p)} account`}
          value={choice?.preferredAccountId ?? ''}
          onChange={(e) => props.onChange(p, 'preferredAccountId', inputValue(e))}
        >
          <option value="">No preference</option>
          {accountsOf(props.data, p).map((a) => (
            <option key={a.id} value={a.id}>
              {a.label}
            </option>
          ))}
        </select>
      </td>
      <td>
        <input
          aria-label={`Preferred ${providerName(p)} model`}
          value={choice?.model ?? ''}
          onInput={(e) => props.onChange(p, 'model', inputValue(e))}
        />
      </td>
      <td>
        <input
          aria-label={`Preferred ${providerName(p)} effort`}
          value={choice?.effort ?? ''}
          onInput={(e) => props.onChange(p, 'effort', inputValue(e))}
        />
      </td>
    </tr>
  );
}
