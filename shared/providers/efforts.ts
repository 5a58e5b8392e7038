import { ValidationError } from '#shared/errors.ts';
import type { ProviderDefinition } from '#shared/providers/types.ts';

/** Effort levels the provider's CLI accepts; per model where the provider varies them (Grok). */
export function validEfforts(provider: ProviderDefinition, model: string | null = null): string[] {
  if (Array.isArray(provider.efforts)) return [...provider.efforts];
  const byModel = provider.efforts as Readonly<Record<string, readonly string[]>>;
  if (model && byModel[model]) return [...byModel[model]];
  return [...new Set(Object.values(byModel).flat())];
}

/** `validation_failed` at `path` unless `effort` is one the provider (and model) accepts. */
export function checkEffort(
  provider: ProviderDefinition,
  model: string | null,
  effort: string | null | undefined,
  path: string,
): void {
  if (effort === null || effort === undefined) return;
  const allowed = validEfforts(provider, model);
  if (!allowed.includes(effort)) {
    const list = allowed.join(', ') || '(none for this provider)';
    throw new ValidationError(`${path} must be one of: ${list}`, [{ path, message: `must be one of: ${list}` }]);
  }
}
