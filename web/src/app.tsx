import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, api, attempt, whenUnauthorized } from './api.ts';
import { type ConsoleConfig, currentSession, signInWithJwt, signInWithToken, signOut } from './auth.ts';
import { EnvironmentsScreen } from './environments.tsx';
import { ProfileScreen } from './profile.tsx';
import { ProvidersScreen } from './providers.tsx';
import { AuditScreen, FinanceScreen, LaunchesScreen } from './records.tsx';
import { KeepaliveScreen, ModelsScreen } from './settings.tsx';
import type { Caller } from './types.ts';
import { ErrorText, inputValue, StatusText } from './ui.tsx';

interface Screen {
  path: string;
  title: string;
  admin: boolean;
  view: (caller: Caller) => JSX.Element;
}

const SCREENS: Screen[] = [
  { path: 'providers', title: 'AI Providers', admin: false, view: (c) => <ProvidersScreen scope="team" caller={c} /> },
  { path: 'keepalive', title: 'Agent Keepalive', admin: true, view: () => <KeepaliveScreen /> },
  { path: 'models', title: 'Models / General', admin: true, view: () => <ModelsScreen /> },
  { path: 'environments', title: 'Environments', admin: true, view: () => <EnvironmentsScreen /> },
  { path: 'launches', title: 'Launches', admin: false, view: () => <LaunchesScreen /> },
  { path: 'audit', title: 'Audit log', admin: true, view: () => <AuditScreen /> },
  { path: 'finance', title: 'Finance', admin: true, view: () => <FinanceScreen /> },
  { path: 'profile', title: 'Profile', admin: false, view: (c) => <ProfileScreen caller={c} /> },
];

function currentPath(): string {
  return location.hash.replace(/^#\/?/, '') || 'providers';
}

/** The console: signs the user in, then shows the screens their role allows. */
export function App() {
  const [config, setConfig] = useState<ConsoleConfig | null>(null);
  const [caller, setCaller] = useState<Caller | null | undefined>(undefined);
  const [failure, setFailure] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  useEffect(() => {
    api<ConsoleConfig>('GET', '/console/config.json')
      .then(async (c) => {
        setConfig(c);
        setCaller(c.auth === 'session' ? await currentSession() : null);
      })
      .catch((error: unknown) => setFailure(error instanceof ApiError ? error.message : String(error)));
  }, []);
  useEffect(() => {
    whenUnauthorized(() => {
      setNotice('Your session has ended: sign in again.');
      setCaller(null);
    });
    return () => whenUnauthorized(null);
  }, []);
  if (failure) return <ErrorText error={`The console could not start: ${failure}`} />;
  if (!config || caller === undefined) return <p class="muted">Loading…</p>;
  if (!caller) {
    return (
      <SignIn
        config={config}
        notice={notice}
        onSignedIn={(c) => {
          setNotice(null);
          setCaller(c);
        }}
      />
    );
  }
  return (
    <Shell
      caller={caller}
      onSignOut={async () => {
        await signOut();
        setCaller(null);
      }}
    />
  );
}

/** Admins are told apart by asking an admin-only route (deployed, the role lives in the IdP). */
async function probeRole(id: string): Promise<Caller> {
  try {
    await api('GET', '/v1/settings');
    return { id, role: 'admin' };
  } catch (error) {
    if (error instanceof ApiError && error.status === 403) return { id, role: 'member' };
    throw error;
  }
}

function SignIn(props: { config: ConsoleConfig; notice: string | null; onSignedIn: (c: Caller) => void }) {
  const { config } = props;
  return (
    <main id="main" class="sign-in">
      <h1>Keyfleet console</h1>
      <StatusText text={props.notice} />
      {config.auth === 'session' && <TokenSignIn onSignedIn={props.onSignedIn} />}
      {config.auth === 'jwt' && <JwtSignIn config={config} onSignedIn={props.onSignedIn} />}
      {config.auth === 'iam' && (
        <p class="card">This deployment uses IAM authentication: open the console with the keyfleet console command.</p>
      )}
    </main>
  );
}

/** Local mode: the access token is exchanged for a session cookie. */
function TokenSignIn(props: { onSignedIn: (c: Caller) => void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(null);
  return (
    <form
      class="card"
      noValidate
      onSubmit={async (event) => {
        event.preventDefault();
        const result = await attempt(() => signInWithToken(token));
        if (!result.ok) return setError(result.error);
        setToken('');
        props.onSignedIn(result.value);
      }}
    >
      <div class="field">
        <label for="token">Access token</label>
        <input
          id="token"
          type="password"
          autoComplete="new-password"
          value={token}
          onInput={(e) => setToken(inputValue(e))}
        />
        <small class="hint">
          The admin token <code>npm start</code> printed, or your member token. It is exchanged for a session cookie
          this page's scripts cannot read, and not kept anywhere.
        </small>
      </div>
      <ErrorText error={error} />
      <div class="actions">
        <button type="submit">Sign in</button>
      </div>
    </form>
  );
}

/** Deployed with JWT auth: sign in at the team's identity provider. */
function JwtSignIn(props: { config: Extract<ConsoleConfig, { auth: 'jwt' }>; onSignedIn: (c: Caller) => void }) {
  const [error, setError] = useState<string | null>(null);
  return (
    <div class="card">
      <p>Sign in with your team's identity provider.</p>
      <ErrorText error={error} />
      <button
        type="button"
        onClick={async () => {
          const result = await attempt(async () => probeRole(await signInWithJwt(props.config)));
          if (!result.ok) return setError(result.error);
          props.onSignedIn(result.value);
        }}
      >
        Sign in
      </button>
    </div>
  );
}

function Shell(props: { caller: Caller; onSignOut: () => void }) {
  const { caller } = props;
  const [path, setPath] = useState(currentPath);
  useEffect(() => {
    const listen = () => setPath(currentPath());
    window.addEventListener('hashchange', listen);
    return () => window.removeEventListener('hashchange', listen);
  }, []);
  const allowed = SCREENS.filter((s) => caller.role === 'admin' || !s.admin);
  const screen = allowed.find((s) => s.path === path) ?? allowed[0];
  useEffect(() => {
    document.title = `${screen?.title ?? 'Console'} · Keyfleet`;
    document.getElementById('main')?.focus();
  }, [screen]);
  return (
    <>
      <button type="button" class="skip" onClick={() => document.getElementById('main')?.focus()}>
        Skip to content
      </button>
      <header class="top">
        <span class="brand">Keyfleet</span>
        <span class="who">
          {caller.id} · {caller.role}
        </span>
        <button type="button" class="secondary" onClick={props.onSignOut}>
          Sign out
        </button>
      </header>
      <div class="layout">
        <nav aria-label="Console">
          <ul>
            {allowed.map((s) => (
              <li key={s.path}>
                <a href={`#/${s.path}`} aria-current={s === screen ? 'page' : undefined}>
                  {s.title}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <main id="main" tabIndex={-1}>
          <h1 class="sr-only">{screen?.title}</h1>
          {screen?.view(caller)}
        </main>
      </div>
    </>
  );
}
