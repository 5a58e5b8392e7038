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

function PreferencesForm(props: { data: PreferenceData; reload: () => void }) {
  const { data } = props;
  const [choices, setChoices] = useState<Record<string, Required<Choice>>>(() =>
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
    const result = await attempt(() => api('PUT', '/v1/me/preferences', { providers }));
    if (!result.ok) return setError(result.error);
    setError(null);
    setSaved('Preferences saved.');
    props.reload();
  };
  const accountsOf = (p: ProviderId) => [
    ...(data.own.find((x) => x.id === p)?.accounts ?? []).map((a) => ({ id: a.id, label: `${a.label} (mine)` })),
    ...(data.team.find((x) => x.id === p)?.accounts ?? [])
      .filter((a) => a.owner === null)
      .map((a) => ({ id: a.id, label: `${a.label} (team)` })),
  ];
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
            <tr key={p}>
              <th scope="row">{providerName(p, data.team)}</th>
              <td>
                <select
                  aria-label={`Preferred ${providerName(p)} account`}
                  value={choices[p]?.preferredAccountId ?? ''}
                  onChange={(e) => set(p, 'preferredAccountId', inputValue(e))}
                >
                  <option value="">No preference</option>
                  {accountsOf(p).map((a) => (
                    <option key={a.id} value={a.id}>
                      {a.label}
                    </option>
                  ))}
                </select>
              </td>
              <td>
                <input
                  aria-label={`Preferred ${providerName(p)} model`}
                  value={choices[p]?.model ?? ''}
                  onInput={(e) => set(p, 'model', inputValue(e))}
                />
              </td>
              <td>
                <input
                  aria-label={`Preferred ${providerName(p)} effort`}
                  value={choices[p]?.effort ?? ''}
                  onInput={(e) => set(p, 'effort', inputValue(e))}
                />
              </td>
            </tr>
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
