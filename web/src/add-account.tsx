import { useEffect, useRef, useState } from 'preact/hooks';
import { api, attempt } from './api.ts';
import type { Account, EndpointType, Provider, SignIn } from './types.ts';
import { ErrorText, Field, inputValue, Modal, StatusText } from './ui.tsx';

const ENDPOINT_TYPES: Record<string, { value: EndpointType; label: string }[]> = {
  codex: [
    { value: 'custom', label: 'Custom (OpenAI-compatible)' },
    { value: 'responses_hosted', label: 'Responses API, hosted' },
    { value: 'responses_local', label: 'Responses API, local (LM Studio)' },
    { value: 'azure', label: 'Azure OpenAI' },
  ],
};

/** Which providers take an API version with a custom endpoint. */
const API_VERSION = new Set(['codex', 'gemini']);

export interface AddAccountProps {
  provider: Provider;
  /** `/v1/providers` for team accounts, `/v1/me/providers` for one's own. */
  base: string;
  tab?: 'oauth' | 'api_key';
  label?: string;
  title?: string;
  onDone: (account: Account) => void;
  onClose: () => void;
}

/** The Add Account dialog: an OAuth tab (sign-in by the provider's flow) and an API Key tab. */
export function AddAccountDialog(props: AddAccountProps) {
  const [tab, setTab] = useState<'oauth' | 'api_key'>(props.tab ?? 'oauth');
  const tabs = [
    { id: 'oauth', name: 'OAuth' },
    { id: 'api_key', name: 'API Key' },
  ] as const;
  return (
    <Modal title={props.title ?? `Add Account: ${props.provider.name}`} onClose={props.onClose} wide>
      <div role="tablist" aria-label="How to connect" class="tabs">
        {tabs.map((t) => (
          <button
            key={t.id}
            type="button"
            role="tab"
            id={`tab-${t.id}`}
            aria-selected={tab === t.id}
            aria-controls={`panel-${t.id}`}
            tabIndex={tab === t.id ? 0 : -1}
            onClick={() => setTab(t.id)}
            onKeyDown={(event) => {
              if (event.key === 'ArrowRight' || event.key === 'ArrowLeft') {
                const next = t.id === 'oauth' ? 'api_key' : 'oauth';
                setTab(next);
                document.getElementById(`tab-${next}`)?.focus();
              }
            }}
          >
            {t.name}
          </button>
        ))}
      </div>
      <div role="tabpanel" id={`panel-${tab}`} aria-labelledby={`tab-${tab}`}>
        {tab === 'oauth' ? <OAuthTab {...props} /> : <ApiKeyTab {...props} />}
      </div>
    </Modal>
  );
}

/** Cancels a sign-in left unfinished when the dialog closes, so nothing is left waiting on the server. */
function useCancelUnfinished() {
  const open = useRef<{ id: string; done: boolean } | null>(null);
  useEffect(
    () => () => {
      const current = open.current;
      if (current && !current.done) void api('DELETE', `/v1/sign-ins/${current.id}`).catch(() => undefined);
    },
    [],
  );
  return open;
}

function OAuthTab(props: AddAccountProps) {
  const [signIn, setSignIn] = useState<SignIn | null>(null);
  const open = useCancelUnfinished();
  if (!signIn) {
    return (
      <StartSignIn
        {...props}
        onStarted={(started) => {
          open.current = { id: started.id, done: false };
          setSignIn(started);
        }}
      />
    );
  }
  return (
    <CompleteSignIn
      signIn={signIn}
      onClose={props.onClose}
      onDone={(account) => {
        if (open.current) open.current.done = true;
        props.onDone(account);
      }}
    />
  );
}

/** The first step of an OAuth sign-in: an optional label, then Start Sign-In. */
function StartSignIn(props: AddAccountProps & { onStarted: (signIn: SignIn) => void }) {
  const [label, setLabel] = useState(props.label ?? '');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const start = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    const result = await attempt(() =>
      api<{ signIn: SignIn }>('POST', `${props.base}/${props.provider.id}/sign-ins`, label.trim() ? { label } : {}),
    );
    setBusy(false);
    if (!result.ok) return setError(result.error);
    setError(null);
    props.onStarted(result.value.signIn);
  };
  return (
    <form onSubmit={start} noValidate>
      <Field label="Label (optional)" hint="Without one, the account's email becomes its label.">
        {(id, hint) => (
          <input
            id={id}
            aria-describedby={hint}
            value={label}
            maxLength={100}
            onInput={(e) => setLabel(inputValue(e))}
          />
        )}
      </Field>
      <ErrorText error={error} />
      <Actions onClose={props.onClose} busy={busy} submit="Start Sign-In" />
    </form>
  );
}

/** Cancel and the dialog's submit button. */
function Actions(props: { onClose: () => void; busy: boolean; submit: string }) {
  return (
    <div class="actions">
      <button type="button" class="secondary" onClick={props.onClose}>
        Cancel
      </button>
      <button type="submit" disabled={props.busy}>
        {props.submit}
      </button>
    </div>
  );
}

/** What the complete call sends: the pasted code or address, or nothing for a device sign-in. */
function completionBody(signIn: SignIn, pasted: string): { code?: string; redirectUrl?: string } {
  if (signIn.flow === 'code') return { code: pasted.trim() };
  if (signIn.flow === 'redirect_url') return { redirectUrl: pasted.trim() };
  return {};
}

/** The complete call, with what was pasted; a device sign-in not approved yet is asked again by itself. */
function useCompletion(signIn: SignIn, onDone: (account: Account) => void) {
  const [pasted, setPasted] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [pending, setPending] = useState(false);
  const [busy, setBusy] = useState(false);
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  useEffect(() => () => clearTimeout(timer.current), []);
  const complete = async (event?: Event) => {
    event?.preventDefault();
    clearTimeout(timer.current);
    const body = completionBody(signIn, pasted);
    setBusy(true);
    const result = await attempt(() =>
      api<{ account?: Account; status?: 'pending' }>('POST', `/v1/sign-ins/${signIn.id}/complete`, body),
    );
    setBusy(false);
    if (!result.ok) return setError(result.error);
    setError(null);
    if (result.value.account) {
      setPasted('');
      onDone(result.value.account);
      return;
    }
    // Not approved yet: ask again by ourselves at the provider's pace, as well as on each press.
    setPending(true);
    timer.current = setTimeout(() => void complete(), (signIn.intervalSeconds ?? 5) * 1000 + 250);
  };
  return { pasted, setPasted, error, pending, busy, complete };
}

function CompleteSignIn(props: { signIn: SignIn; onDone: (a: Account) => void; onClose: () => void }) {
  const { signIn } = props;
  const { pasted, setPasted, error, pending, busy, complete } = useCompletion(signIn, props.onDone);
  return (
    <form onSubmit={complete} noValidate>
      <SignInSteps signIn={signIn} />
      {signIn.flow !== 'device' && (
        <Field label={signIn.flow === 'code' ? 'Code (code#state)' : 'Redirected address'}>
          {(id) => (
            <input
              id={id}
              value={pasted}
              autoComplete="off"
              spellcheck={false}
              onInput={(e) => setPasted(inputValue(e))}
            />
          )}
        </Field>
      )}
      {pending && (
        <StatusText
          text={`Still waiting: approve code ${signIn.userCode} in the browser. This dialog checks again every few seconds.`}
        />
      )}
      <ErrorText error={error} />
      <p class="muted">This sign-in expires at {signIn.expiresAt.slice(11, 16)} UTC.</p>
      <Actions
        onClose={props.onClose}
        busy={busy}
        submit={signIn.flow === 'device' ? "I've signed in" : 'Complete Sign-In'}
      />
    </form>
  );
}

/** What to do at the provider: approve a device code, or sign in and paste what the page shows. */
function SignInSteps({ signIn }: { signIn: SignIn }) {
  if (signIn.flow === 'device') {
    return (
      <ol class="steps">
        <li>
          Open{' '}
          <a href={signIn.verificationUriComplete ?? signIn.verificationUri} target="_blank" rel="noopener noreferrer">
            {signIn.verificationUri}
          </a>{' '}
          and sign in.
        </li>
        <li>
          Enter this code if asked: <code class="user-code">{signIn.userCode}</code>
        </li>
        <li>Approve the request, then come back and press I've signed in.</li>
      </ol>
    );
  }
  const callback = signIn.flow === 'redirect_url' ? redirectTarget(signIn.authorizeUrl) : null;
  return (
    <ol class="steps">
      <li>
        <a href={signIn.authorizeUrl} target="_blank" rel="noopener noreferrer">
          Open the sign-in page
        </a>{' '}
        and sign in.
      </li>
      <li>
        {signIn.flow === 'code'
          ? 'The page then shows a code like abc…#xyz…: copy all of it and paste it below.'
          : `Your browser then fails to open ${callback ?? 'the callback address'}: copy the whole address from the address bar and paste it below.`}
      </li>
    </ol>
  );
}

function redirectTarget(authorizeUrl: string | undefined): string | null {
  try {
    const target = new URL(authorizeUrl ?? '').searchParams.get('redirect_uri');
    return target ? new URL(target).origin : null;
  } catch {
    return null;
  }
}

/** The endpoint fields as typed; empty ones are left out of the request. */
interface EndpointDraft {
  type: EndpointType;
  baseUrl: string;
  apiVersion: string;
}

/** The create-account body: a keyless account always has an endpoint, a key account only when asked. */
function apiKeyAccountBody(
  provider: string,
  input: { label: string; key: string; keyless: boolean; withEndpoint: boolean; endpoint: EndpointDraft },
) {
  const { baseUrl, apiVersion } = input.endpoint;
  const endpoint = input.withEndpoint
    ? {
        type: input.endpoint.type,
        ...(baseUrl.trim() ? { baseUrl: baseUrl.trim() } : {}),
        ...(API_VERSION.has(provider) && apiVersion.trim() ? { apiVersion: apiVersion.trim() } : {}),
      }
    : undefined;
  return input.keyless
    ? { kind: 'none', label: input.label, endpoint }
    : { kind: 'api_key', label: input.label, apiKey: input.key, ...(endpoint ? { endpoint } : {}) };
}

function ApiKeyTab(props: AddAccountProps) {
  const provider = props.provider.id;
  const types = ENDPOINT_TYPES[provider] ?? [{ value: 'custom' as EndpointType, label: 'Custom' }];
  const [label, setLabel] = useState(props.label ?? '');
  const [key, setKey] = useState('');
  const [keyless, setKeyless] = useState(false);
  const [custom, setCustom] = useState(false);
  const [endpoint, setEndpoint] = useState<EndpointDraft>({
    type: types[0]?.value ?? 'custom',
    baseUrl: '',
    apiVersion: '',
  });
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const withEndpoint = custom || keyless;
  const submit = async (event: Event) => {
    event.preventDefault();
    const body = apiKeyAccountBody(provider, { label, key, keyless, withEndpoint, endpoint });
    setBusy(true);
    const result = await attempt(() => api<{ account: Account }>('POST', `${props.base}/${provider}/accounts`, body));
    setBusy(false);
    if (!result.ok) return setError(result.error);
    setKey('');
    props.onDone(result.value.account);
  };
  return (
    <form onSubmit={submit} noValidate>
      <Field label="Label">
        {(id) => <input id={id} value={label} maxLength={100} onInput={(e) => setLabel(inputValue(e))} />}
      </Field>
      <KeyFields keyless={keyless} onKeyless={setKeyless} value={key} onInput={setKey} />
      <div class="field check">
        <input
          id="custom-endpoint"
          type="checkbox"
          role="switch"
          checked={withEndpoint}
          aria-checked={withEndpoint}
          disabled={keyless}
          onChange={(e) => setCustom(e.currentTarget.checked)}
        />
        <label for="custom-endpoint">Custom Endpoint{keyless ? ' (needed without a key)' : ''}</label>
      </div>
      {withEndpoint && <EndpointFields provider={provider} types={types} draft={endpoint} onChange={setEndpoint} />}
      <ErrorText error={error} />
      <Actions onClose={props.onClose} busy={busy} submit="Add Account" />
    </form>
  );
}

/** The "No key" box, and the API key field while there is a key. */
function KeyFields(props: {
  keyless: boolean;
  onKeyless: (keyless: boolean) => void;
  value: string;
  onInput: (key: string) => void;
}) {
  return (
    <>
      <div class="field check">
        <input
          id="keyless"
          type="checkbox"
          checked={props.keyless}
          onChange={(e) => props.onKeyless(e.currentTarget.checked)}
        />
        <label for="keyless">No key: a local model server or gateway</label>
      </div>
      {!props.keyless && (
        <Field label="API key" hint="Stored in Secrets Manager; shown afterwards only as its last four characters.">
          {(id, hint) => (
            <input
              id={id}
              type="password"
              aria-describedby={hint}
              autoComplete="new-password"
              value={props.value}
              onInput={(e) => props.onInput(inputValue(e))}
            />
          )}
        </Field>
      )}
    </>
  );
}

/** The custom endpoint: its type, base URL and (for some providers) API version. */
function EndpointFields(props: {
  provider: string;
  types: { value: EndpointType; label: string }[];
  draft: EndpointDraft;
  onChange: (update: (draft: EndpointDraft) => EndpointDraft) => void;
}) {
  const { draft } = props;
  const set = (change: Partial<EndpointDraft>) => props.onChange((current) => ({ ...current, ...change }));
  return (
    <fieldset>
      <legend>Endpoint</legend>
      <Field label="Endpoint type">
        {(id) => (
          <select id={id} value={draft.type} onChange={(e) => set({ type: inputValue(e) as EndpointType })}>
            {props.types.map((t) => (
              <option key={t.value} value={t.value}>
                {t.label}
              </option>
            ))}
          </select>
        )}
      </Field>
      <Field label="Base URL" hint="https://…, or http:// on this machine (127.0.0.1, localhost).">
        {(id, hint) => (
          <input
            id={id}
            type="url"
            aria-describedby={hint}
            value={draft.baseUrl}
            onInput={(e) => set({ baseUrl: inputValue(e) })}
          />
        )}
      </Field>
      {API_VERSION.has(props.provider) && (
        <Field label="API version (optional)">
          {(id) => <input id={id} value={draft.apiVersion} onInput={(e) => set({ apiVersion: inputValue(e) })} />}
        </Field>
      )}
    </fieldset>
  );
}
