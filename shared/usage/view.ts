/**
 * The allowance as the API shows it (API.md Account `usage`). Types only, with no imports, so the
 * console can share them without pulling server code into its type check.
 */

/** One rolling allowance window as the provider reports it (API.md `usage.windows[]`). */
export interface UsageWindow {
  /** `five_hour`, `seven_day`, a model-specific window (`seven_day_opus`), or `window_<n>s`. */
  name: string;
  /** Percent of the window used, 0–100, rounded to one decimal. */
  usedPercent: number;
  /** When the window resets (ISO-8601 UTC); null when the provider did not say. */
  resetsAt: string | null;
}

/** API.md's Account `usage`: plan, read time and windows (credits stay server-side until the contract has them). */
export interface UsageView {
  plan: string | null;
  readAt: string;
  windows: UsageWindow[];
}
