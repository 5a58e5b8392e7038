import { ValidationError } from '#shared/errors.ts';
import type { ProviderDefinition } from '#shared/providers/types.ts';

/** Effort levels the provider's CLI accepts; per model where the provider varies them (Grok). */
export function validEfforts(provider: ProviderDefinition, model: string | null = null): string[] {
  if (Array.isArray(provider.efforts)) return [...provider.efforts];
  const byModel = provider.efforts as Readonly<Record<string, readonly string[]>>;
  if (model && byModel[model]) return [...byModel[model]];
  return [...new Set(Object.values(byModel).flat())];
}

/** An effort to check: for which provider and model, and where in the request it came from. */
export interface EffortCheck {
  provider: ProviderDefinition;
  model: string | null;
  effort: string | null | undefined;
  /** Where the value was given, e.g. `body.effort`. */
  path: string;
}

/** `validation_failed` at `path` unless `effort` is one the provider (and model) accepts. */
export function checkEffort(check: EffortCheck): void {
  if (check.effort === null || check.effort === undefined) return;
  const allowed = validEfforts(check.provider, check.model);
  if (!allowed.includes(check.effort)) {
    const list = allowed.join(', ') || '(none for this provider)';
    throw new ValidationError(`${check.path} must be one of: ${list}`, [
      { path: check.path, message: `must be one of: ${list}` },
    ]);
  }
}
