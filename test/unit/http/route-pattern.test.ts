import { describe, expect, it } from 'vitest';
import { routePattern } from '#shared/http/route-pattern.ts';

describe('routePattern', () => {
  it('matches one segment per parameter, with or without a trailing slash', () => {
    const pattern = routePattern('/v1/providers/{provider}/accounts/{id}');
    expect(pattern.test('/v1/providers/claude/accounts/acc_1')).toBe(true);
    expect(pattern.test('/v1/providers/claude/accounts/acc_1/')).toBe(true);
    expect(pattern.test('/v1/providers/claude/accounts/acc_1/test')).toBe(false);
    expect(pattern.test('/v1/providers/claude/accounts/')).toBe(false);
    expect(pattern.test('/v1/providers/a/b/accounts/acc_1')).toBe(false);
  });

  it('takes everything else literally', () => {
    const pattern = routePattern('/v1/openapi.json');
    expect(pattern.test('/v1/openapi.json')).toBe(true);
    expect(pattern.test('/v1/openapiXjson')).toBe(false);
    expect(pattern.test('/x/v1/openapi.json')).toBe(false);
  });
});
