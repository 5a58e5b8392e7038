export interface KeepaliveSettings {
  enabled: boolean;
  intervalHours: number;
  lastRefreshAt: string | null;
  nextRefreshAt: string | null;
  lastResult: 'ok' | 'failed' | null;
}

/** Per-provider server settings (the `SETTINGS` item of the provider partition). */
export interface ProviderSettings {
  activeAccountId: string | null;
  model: string | null;
  keepalive: KeepaliveSettings;
}

export const DEFAULT_INTERVAL_HOURS = 6;

export function defaultProviderSettings(): ProviderSettings {
  return {
    activeAccountId: null,
    model: null,
    keepalive: {
      enabled: true,
      intervalHours: DEFAULT_INTERVAL_HOURS,
      lastRefreshAt: null,
      nextRefreshAt: null,
      lastResult: null,
    },
  };
}
