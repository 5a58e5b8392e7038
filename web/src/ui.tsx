import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from './api.ts';

/** What a screen loaded: the data, or the error, and a way to load again. */
export interface Loaded<T> {
  data: T | undefined;
  error: ApiError | undefined;
  loading: boolean;
  reload: () => void;
}

/** Loads data for a screen; `reload` runs the loader again (after a change). */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[] = []): Loaded<T> {
  const [state, setState] = useState<{ data?: T; error?: ApiError; loading: boolean }>({ loading: true });
  const [round, setRound] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => live && setState({ data, loading: false }),
      (error: unknown) =>
        live &&
        setState({
          loading: false,
          error: error instanceof ApiError ? error : new ApiError(0, 'client', String(error)),
        }),
    );
    return () => {
      live = false;
    };
  }, [round, ...deps]);
  const reload = useCallback(() => setRound((r) => r + 1), []);
  return { data: state.data, error: state.error, loading: state.loading, reload };
}

/** A short, unambiguous time: `2026-11-22 14:05 UTC`. */
export function when(iso: string | null | undefined): string {
  if (!iso) return '—';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** An error message, announced to screen readers. */
export function ErrorText({ error }: { error: string | undefined | null }) {
  if (!error) return null;
  return (
    <p class="error" role="alert">
      {error}
    </p>
  );
}

/** A status message (success, pending), announced politely. */
export function StatusText({ text, tone = 'info' }: { text: string | undefined | null; tone?: 'info' | 'ok' | 'bad' }) {
  return (
    <p class={`status ${tone}`} role="status">
      {text ?? ''}
    </p>
  );
}

/** Loading and error states for a screen's data. */
export function LoadState<T>({ loaded, what }: { loaded: Loaded<T>; what: string }) {
  if (loaded.error) return <ErrorText error={`Could not load ${what}: ${loaded.error.message}`} />;
  if (loaded.loading && loaded.data === undefined) return <p class="muted">Loading {what}…</p>;
  return null;
}

/**
 * A modal dialog on the native `<dialog>` element: focus moves into it, Escape closes it, and
 * focus returns to where it was when it closes.
 */
export function Modal(props: { title: string; onClose: () => void; children: ComponentChildren; wide?: boolean }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    const before = document.activeElement as HTMLElement | null;
    dialog?.showModal();
    return () => {
      dialog?.close();
      before?.focus();
    };
  }, []);
  return (
    <dialog
      ref={ref}
      class={props.wide ? 'wide' : ''}
      aria-labelledby="modal-title"
      onCancel={(event) => {
        event.preventDefault();
        props.onClose();
      }}
    >
      <h2 id="modal-title">{props.title}</h2>
      {props.children}
    </dialog>
  );
}

/** Asks before something that cannot be undone. */
export function Confirm(props: {
  title: string;
  message: string;
  action: string;
  onConfirm: () => Promise<string | null>;
  onClose: () => void;
}) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <Modal title={props.title} onClose={props.onClose}>
      <p>{props.message}</p>
      <ErrorText error={error} />
      <div class="actions">
        <button type="button" class="secondary" onClick={props.onClose}>
          Cancel
        </button>
        <button
          type="button"
          class="danger"
          disabled={busy}
          onClick={async () => {
            setBusy(true);
            const failed = await props.onConfirm();
            setBusy(false);
            if (failed) setError(failed);
            else props.onClose();
          }}
        >
          {props.action}
        </button>
      </div>
    </Modal>
  );
}

let fieldIds = 0;

/** A labelled form control; `hint` is tied to the control with aria-describedby. */
export function Field(props: {
  label: string;
  hint?: string;
  children: (id: string, hintId?: string) => ComponentChildren;
}) {
  const [id] = useState(() => `f${++fieldIds}`);
  const hintId = props.hint ? `${id}-hint` : undefined;
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      {props.children(id, hintId)}
      {props.hint && (
        <small id={hintId} class="hint">
          {props.hint}
        </small>
      )}
    </div>
  );
}

/** The text typed into an input or select. */
export function inputValue(event: Event): string {
  return (event.currentTarget as HTMLInputElement | HTMLSelectElement).value;
}
