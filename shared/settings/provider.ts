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
  /** The round robin skips an account while any usage window is at or above this percentage. */
  pool: { skipAbovePercent: number };
}

export const DEFAULT_INTERVAL_HOURS = 6;
/** Default for `pool.<provider>.skipAbovePercent` (the rule lives in `shared/usage/pool.ts`). */
export const DEFAULT_SKIP_ABOVE_PERCENT = 95;
/** The setting's accepted values: a percentage; 100 skips only fully used windows. */
export const SKIP_ABOVE_PERCENT_RANGE = { min: 1, max: 100 } as const;

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
    pool: { skipAbovePercent: DEFAULT_SKIP_ABOVE_PERCENT },
  };
}
