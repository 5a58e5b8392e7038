import fc from 'fast-check';
import type { Route } from '#shared/http/types.ts';
import { TOKENS } from '#test/helpers/api.ts';
import { type Built, type CatalogRoute, genericBuilt, PROBES } from '#test/security/catalog.ts';
import type { RawRequest, World } from '#test/security/world.ts';

/**
 * Request recipes for the fuzzer: plain data that fast-check generates and shrinks, turned into
 * raw HTTP requests against one route. A request to a route that changes state (POST, PUT, PATCH,
 * DELETE) always carries at least one defect the contract must refuse (its "fatal" defect), so
 * such a request must fail and change nothing; other defects ride along as noise. GET requests
 * may be anything: they must never change state.
 */

export type Fatal = 'malformed_json' | 'content_type' | 'oversize' | 'not_object' | 'wrong_type' | 'bad_param';

export interface Recipe {
  route: number;
  caller: 'admin' | 'alice' | 'none' | 'garbage' | 'expired_task' | 'task';
  /** How the Authorization header is spelled. */
  auth: 'plain' | 'lower' | 'double_space' | 'basic' | 'empty' | 'trailing';
  fatal: Fatal;
  /** Where in the body (leaf index) the wrong type or bad string goes. */
  leaf: number;
  wrongValue: unknown;
  badString: string | null;
  proto: boolean;
  duplicate: boolean;
  extraKey: string | null;
  param: { index: number; value: string } | null;
  query: { kind: 'none' | 'pairs' | 'many' | 'long'; pairs: [string, string][]; count: number };
  contentType: string;
  malformed: string;
}

/** Percent-encodes every byte but the unreserved ones (lone surrogates become U+FFFD, as on the wire). */
export function percentEncode(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9_.~-]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

const CONTROL = fc.constantFrom('\u0000', '\u0007', '\r\n', '\u001b[31m', '\u007f', '\u0085', '\u202e', '\ud800', '\t');

/** Strings that break things: control characters, lone surrogates, huge runs, plain unicode. */
export const nastyString = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.tuple(fc.string({ maxLength: 10 }), CONTROL, fc.string({ maxLength: 10 })).map(([a, c, b]) => `${a}${c}${b}`),
  fc.integer({ min: 1_000, max: 30_000 }).map((n) => 'A'.repeat(n)),
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a log-injection probe, meant literally
  fc.constantFrom('__proto__', 'constructor', 'toString', '${jndi:ldap://x}', '<script>', "' OR 1=1 --", '%00'),
);

/** Path parameter values: traversal, encoded slashes, broken percent-encoding, prototype names, long ids. */
const BAD_PARAMS = [
  '..',
  '%2e%2e',
  '..%2F..%2Fsettings',
  '%2e%2e%2f%2e%2e%2fsettings',
  'acc_%2F..%2F..',
  'acc_00000000000000000000%2F..',
  '%2F',
  '%5C..%5C',
  '%00',
  'acc_%00',
  '%ZZ',
  '%',
  '%E0%A4%A',
  '__proto__',
  'constructor',
  'prototype',
  'hasOwnProperty',
  'CLAUDE',
  'claude%20',
  'claude%0A',
  '%C0%AE%C0%AE',
  'si_..',
  '%ED%A0%80',
  '%FF%FE',
];
export const badParam = fc.oneof(
  fc.constantFrom(...BAD_PARAMS),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 30 }).map(percentEncode),
  fc.integer({ min: 300, max: 3000 }).map((n) => `acc_${'f'.repeat(n)}`),
);

/** A value nested `depth` levels deep (arrays or objects), to find recursion limits. */
const deep = fc
  .tuple(fc.integer({ min: 50, max: 4000 }), fc.boolean())
  .map(([depth, arrays]) =>
    JSON.parse(arrays ? `${'['.repeat(depth)}${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`),
  );

const wrongValue = fc.oneof(
  deep,
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant([]),
  fc.constant({}),
  fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 3 }),
  fc.string({ maxLength: 20 }),
);

const queryKey = fc.oneof(
  fc.constantFrom('limit', 'before', 'provider', 'accountId', '__proto__', 'constructor', 'limit[]', 'a[b]', ''),
  fc.string({ unit: 'binary', maxLength: 12 }),
);

/** One of the keys, each as often as its weight. */
function weighted<T extends string>(weights: Record<T, number>): fc.Arbitrary<T> {
  return fc.oneof(
    ...Object.entries<number>(weights).map(([value, weight]) => ({ arbitrary: fc.constant(value as T), weight })),
  );
}

export function recipeArbitrary(routeCount: number): fc.Arbitrary<Recipe> {
  return fc.record({
    route: fc.nat({ max: routeCount - 1 }),
    caller: weighted<Recipe['caller']>({ admin: 8, alice: 3, none: 1, garbage: 1, expired_task: 1, task: 2 }),
    auth: weighted<Recipe['auth']>({ plain: 12, lower: 1, double_space: 1, basic: 1, empty: 1, trailing: 1 }),
    fatal: fc.constantFrom('malformed_json', 'content_type', 'oversize', 'not_object', 'wrong_type', 'bad_param'),
    leaf: fc.nat({ max: 50 }),
    wrongValue,
    badString: fc.option(nastyString, { freq: 2 }),
    proto: fc.boolean(),
    duplicate: fc.boolean(),
    extraKey: fc.option(fc.oneof(fc.constantFrom('constructor', 'prototype', 'isAdmin', 'owner'), nastyString)),
    param: fc.option(fc.record({ index: fc.nat({ max: 3 }), value: badParam })),
    query: fc.record({
      kind: fc.constantFrom('none', 'none', 'pairs', 'pairs', 'many', 'long'),
      pairs: fc.array(fc.tuple(queryKey, nastyString), { maxLength: 6 }),
      count: fc.integer({ min: 50, max: 1000 }),
    }),
    contentType: fc.constantFrom(
      '',
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/jsonx',
      'application/json-patch+json',
      'text/json',
      'json',
    ),
    malformed: fc.oneof(
      fc.string({ unit: 'binary', maxLength: 60 }),
      fc.constantFrom('{', '{"a":', "{'a':1}", '{"a":1,}', '[1,2', 'NaN', '{"a":undefined}', '\u0000', '{"a":1}}'),
    ),
  }) as fc.Arbitrary<Recipe>;
}

/** A route as the fuzzer uses it: a base request that would be valid, and what may be broken. */
export interface FuzzTarget {
  route: CatalogRoute;
  base: Built;
  /** The base body carries fields whose wrong type the route's schema refuses. */
  checkedBody: boolean;
}

/** Base requests for every route (no resources are created: fixtures stand in). */
export async function fuzzTargets(world: World, routes: CatalogRoute[]): Promise<FuzzTarget[]> {
  const targets: FuzzTarget[] = [];
  for (const route of routes) {
    const probe = PROBES[route.key];
    let base = probe ? await probe.build(world, 'anonymous') : genericBuilt(route.route);
    if (probe?.template !== undefined) base = { ...base, body: probe.template };
    if (route.key === 'POST /v1/tickets/redeem') base = { ...base, body: { ticket: world.fixtures.spentTicket } };
    if (route.key === 'POST /v1/oauth/codex/token')
      base = { ...base, body: { ...(base.body as object), refresh_token: world.fixtures.expiredTaskToken } };
    const checkedBody = Boolean(probe) && isObject(base.body) && leaves(base.body).length > 0;
    targets.push({ route, base, checkedBody });
  }
  return targets;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Paths of every leaf (and every non-empty object or array) in a JSON value. */
function leaves(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (Array.isArray(value)) return value.flatMap((v, i) => [[...prefix, i], ...leaves(v, [...prefix, i])]);
  if (isObject(value)) return Object.entries(value).flatMap(([k, v]) => [[...prefix, k], ...leaves(v, [...prefix, k])]);
  return [];
}

function setAt(value: unknown, path: (string | number)[], next: unknown): unknown {
  const copy = structuredClone(value) as Record<string | number, unknown>;
  let cursor = copy;
  for (const key of path.slice(0, -1)) cursor = cursor[key] as Record<string | number, unknown>;
  const last = path.at(-1);
  if (last !== undefined) cursor[last] = next;
  return copy;
}

const typeOf = (v: unknown): string => (Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v);

/** The fatal defect this recipe can have on this route (methods and bodies limit the choice). */
export function fatalFor(target: FuzzTarget, recipe: Recipe): Fatal | null {
  const method = target.route.route.method;
  const hasParams = /\{\w+\}/.test(target.route.route.path);
  if (method === 'GET') return null;
  if (method === 'DELETE') return hasParams ? 'bad_param' : null;
  const options: Fatal[] = ['malformed_json', 'content_type', 'oversize'];
  if (target.checkedBody) options.push('not_object', 'wrong_type');
  return options.includes(recipe.fatal) ? recipe.fatal : (options[recipe.leaf % options.length] ?? 'malformed_json');
}

function pathWith(route: Route, base: string, param: { index: number; value: string } | null): string {
  if (!param) return base;
  const names = [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => m[0]);
  if (names.length === 0) return base;
  const templateParts = route.path.split('/');
  const baseParts = base.split('?')[0]?.split('/') ?? [];
  const target = names[param.index % names.length];
  const position = templateParts.indexOf(target ?? '');
  baseParts[position] = param.value;
  return baseParts.join('/');
}

/**
 * The query string, at most ~9 KiB: API Gateway refuses request lines and headers over 10 KiB before
 * Keyfleet sees them, and Node's server answers 431 (no JSON body) over 16 KiB.
 */
function queryOf(recipe: Recipe): string {
  const q = recipe.query;
  if (q.kind === 'pairs') {
    const text = q.pairs
      .map(([k, v]) => `${percentEncode(k.slice(0, 200))}=${percentEncode(v.slice(0, 1000))}`)
      .join('&');
    return text.length > 9000 ? text.slice(0, text.lastIndexOf('&', 9000)) : text;
  }
  if (q.kind === 'many') return Array.from({ length: q.count }, (_, i) => `p${i % 97}=${i}`).join('&');
  if (q.kind === 'long') return `x=${'q'.repeat(Math.min(q.count * 5, 7000))}`;
  return '';
}

/** Adds the noise that needs the body as text: a `__proto__` key, a duplicated key. */
function bodyText(body: unknown, recipe: Recipe): string {
  let text = JSON.stringify(body);
  if (!isObject(body)) return text;
  const extras: string[] = [];
  if (recipe.proto) extras.push('"__proto__":{"role":"admin","isAdmin":true,"owner":null}');
  const first = Object.keys(body)[0];
  // The duplicate comes first, so the (possibly broken) original value is the one JSON.parse keeps.
  if (recipe.duplicate && first !== undefined) extras.push(`${JSON.stringify(first)}:"duplicate"`);
  if (extras.length) text = `{${extras.join(',')}${text === '{}' ? '}' : `,${text.slice(1)}`}`;
  return text;
}

/** Task tokens go to container routes; elsewhere (the matrix covers them there) the admin calls. */
function credentialHeader(world: World, recipe: Recipe, container: boolean): string | undefined {
  if (!container && (recipe.caller === 'task' || recipe.caller === 'expired_task')) return TOKENS.admin;
  const map: Record<Recipe['caller'], string | undefined> = {
    admin: TOKENS.admin,
    alice: TOKENS.alice,
    none: undefined,
    // Long enough to hurt, short enough for the 10 KiB header limit in front of every deployment.
    garbage: (recipe.badString ?? 'garbage').slice(0, 2000),
    expired_task: world.fixtures.expiredTaskToken,
    task: world.fixtures.taskToken,
  };
  return map[recipe.caller];
}

function authorization(credential: string | undefined, spelling: Recipe['auth']): string | undefined {
  if (credential === undefined || !/^[\x21-\x7e]+$/.test(credential)) return undefined;
  const spelled: Record<Recipe['auth'], string> = {
    plain: `Bearer ${credential}`,
    lower: `bearer ${credential}`,
    double_space: `Bearer  ${credential}`,
    basic: `Basic ${Buffer.from(`x:${credential}`).toString('base64')}`,
    empty: 'Bearer ',
    trailing: `Bearer ${credential} extra`,
  };
  return spelled[spelling];
}

/** Turns a recipe into a raw request; `mustFail` when the contract must refuse it. */
export function toFuzzRequest(
  world: World,
  target: FuzzTarget,
  recipe: Recipe,
): { request: RawRequest; mustFail: boolean; fatal: Fatal | null } {
  const { route } = target;
  const fatal = fatalFor(target, recipe);
  const paramValue = fatal === 'bad_param' ? (recipe.param ?? { index: recipe.leaf, value: '..%2F..' }) : recipe.param;
  let path = pathWith(route.route, target.base.path, paramValue);
  const query = queryOf(recipe);
  if (query) path += `${path.includes('?') ? '&' : '?'}${query}`;

  let body: unknown = target.base.body;
  const paths = leaves(body);
  if (recipe.badString !== null && paths.length) {
    const stringLeaves = paths.filter((p) => typeof pathValue(body, p) === 'string');
    const at = stringLeaves[recipe.leaf % Math.max(stringLeaves.length, 1)];
    if (at) body = setAt(body, at, recipe.badString);
  }
  if (recipe.extraKey !== null && isObject(body)) body = { ...body, [recipe.extraKey]: recipe.badString ?? 'x' };
  if (fatal === 'wrong_type' && paths.length) {
    const at = paths[recipe.leaf % paths.length] ?? [];
    const original = pathValue(body, at);
    const replacement =
      typeOf(recipe.wrongValue) === typeOf(original) || recipe.wrongValue === null
        ? typeOf(original) === 'number'
          ? 'not a number'
          : 12345
        : recipe.wrongValue;
    body = setAt(body, at, replacement);
  }
  const headers: Record<string, string> = {};
  let text: string | undefined;
  const method = route.route.method;
  if (method !== 'GET' && method !== 'DELETE') {
    text = fatal === 'not_object' ? JSON.stringify(notObject(recipe)) : bodyText(body ?? {}, recipe);
    if (fatal === 'malformed_json') text = malformed(recipe, text);
    if (fatal === 'oversize') text = JSON.stringify({ ...(isObject(body) ? body : {}), pad: 'P'.repeat(66 * 1024) });
    headers['content-type'] = 'application/json';
    if (fatal === 'content_type') {
      if (recipe.contentType) headers['content-type'] = recipe.contentType;
      else delete headers['content-type'];
    }
  } else if (recipe.badString !== null && recipe.leaf % 3 === 0) {
    // A body on a GET or DELETE is ignored; send one now and then anyway.
    text = bodyText({ junk: recipe.badString }, recipe);
    headers['content-type'] = 'application/json';
  }
  const auth = authorization(credentialHeader(world, recipe, route.route.access === 'container'), recipe.auth);
  return {
    request: {
      method,
      path,
      headers: auth === undefined ? headers : { ...headers, authorization: auth },
      ...(text === undefined ? {} : { body: text }),
    },
    mustFail: fatal !== null && (method !== 'DELETE' || PROBES[route.key] !== undefined),
    fatal,
  };
}

function pathValue(body: unknown, path: (string | number)[]): unknown {
  let cursor = body as Record<string | number, unknown> | undefined;
  for (const key of path) cursor = cursor?.[key] as Record<string | number, unknown> | undefined;
  return cursor;
}

function notObject(recipe: Recipe): unknown {
  const options: unknown[] = [null, [], [{}], 'text', 42, true, recipe.badString ?? ''];
  return options[recipe.leaf % options.length];
}

/** Malformed JSON: a strict prefix of the real body (never valid), or garbage that does not parse. */
function malformed(recipe: Recipe, valid: string): string {
  const garbage = recipe.malformed;
  if (recipe.leaf % 2 === 0 && valid.length > 1) return valid.slice(0, 1 + (recipe.leaf % (valid.length - 1)));
  try {
    JSON.parse(garbage);
    return `${garbage}{`;
  } catch {
    return garbage.trim() === '' ? '{' : garbage;
  }
}
