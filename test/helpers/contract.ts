import { afterAll } from 'vitest';
import * as z from 'zod';
import { localFunctions } from '#infra/local/functions.ts';
import { routePattern } from '#shared/http/route-pattern.ts';
import type { Route } from '#shared/http/types.ts';
import { errorBody, oauthError } from '#shared/http/wire.ts';

/**
 * Holds every answer the test API sees to the route's declared contract (the schemas the OpenAPI
 * document is generated from): a field added, renamed or retyped in a response without its schema
 * following fails the test file that saw it. Routes without a contract are left to the OpenAPI
 * coverage test.
 */

interface Compiled {
  route: Route;
  pattern: RegExp;
}

let compiled: Compiled[] | undefined;

function routes(): Compiled[] {
  compiled ??= localFunctions
    .flatMap((fn) => fn.routes)
    .map((route) => ({
      route,
      pattern: routePattern(route.path),
    }));
  return compiled;
}

const violations: string[] = [];

/** Checks one answer; records what does not fit. */
export function checkAnswer(method: string, path: string, status: number, body: unknown): void {
  const pathname = new URL(path, 'http://127.0.0.1').pathname;
  const match = routes().find((c) => c.route.method === method && c.pattern.test(pathname));
  const where = `${method} ${match?.route.path ?? pathname} → ${status}`;
  if (status >= 400) {
    if (body !== undefined && !errorBody.safeParse(body).success && !oauthError.safeParse(body).success)
      violations.push(`${where}: error body is not {error:{code,message}}`);
    return;
  }
  const contract = match?.route.contract;
  if (!contract) return;
  const declared = contract.responses[status];
  if (!declared) {
    violations.push(`${where}: status not in the contract (${Object.keys(contract.responses).join(', ')})`);
    return;
  }
  if (!declared.schema) {
    if (body !== undefined) violations.push(`${where}: a body where the contract declares none`);
    return;
  }
  const result = declared.schema.safeParse(body);
  if (!result.success) violations.push(`${where}: ${z.prettifyError(result.error).replaceAll('\n', ' ')}`);
}

/** Fails the test file if any answer it saw broke its route's contract. */
export function installContractCheck(): void {
  afterAll(() => {
    if (violations.length === 0) return;
    const unique = [...new Set(violations)];
    violations.length = 0;
    throw new Error(`API answers that break the route contracts:\n${unique.slice(0, 20).join('\n')}`);
  });
}
