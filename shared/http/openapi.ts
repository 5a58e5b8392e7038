import * as z from 'zod/mini';
import { errorCodesByStatus } from '#shared/errors.ts';
import type { Route } from '#shared/http/types.ts';
import { errorBody } from '#shared/http/wire.ts';

/**
 * The OpenAPI 3.1 document of the API, generated from the route table: paths, methods and access
 * come from the routes themselves, request and response bodies from the zod schemas each route
 * declares in its `contract` (the same schemas that validate requests, and that the contract
 * tests hold responses to). Nothing here is written by hand per route.
 */

type JsonSchema = Record<string, unknown>;

const COMPONENT = '#/components/schemas/';

const ACCESS_SECURITY: Record<Route['access'], Record<string, string[]>[]> = {
  member: [{ iam: [] }, { jwt: [] }, { localBearer: [] }],
  admin: [{ iam: [] }, { jwt: [] }, { localBearer: [] }],
  container: [{ taskToken: [] }, {}],
  public: [{}],
};

/**
 * Converts one schema, moving every named (`.meta({ id })`) part into `components` and pointing
 * at it there, so shared objects (Account, Provider…) appear once.
 */
function convert(schema: z.ZodMiniType, io: 'input' | 'output', components: Record<string, JsonSchema>): JsonSchema {
  const raw = z.toJSONSchema(schema, {
    target: 'draft-2020-12',
    io,
    unrepresentable: 'any',
    reused: 'inline',
  }) as JsonSchema;
  const text = JSON.stringify(raw).replaceAll('"#/$defs/', `"${COMPONENT}`);
  const { $schema: _schema, $defs, ...body } = JSON.parse(text) as JsonSchema & { $defs?: Record<string, JsonSchema> };
  for (const [name, definition] of Object.entries($defs ?? {})) components[name] ??= definition;
  const id = (z.globalRegistry.get(schema) as { id?: string } | undefined)?.id;
  if (!id) return body;
  components[id] ??= body;
  return { $ref: `${COMPONENT}${id}` };
}

function pathParameters(path: string): JsonSchema[] {
  return [...path.matchAll(/\{([^}]+)\}/g)].map(([, name]) => ({
    name,
    in: 'path',
    required: true,
    schema: { type: 'string', maxLength: 200 },
  }));
}

function queryParameters(schema: z.ZodMiniType | undefined, components: Record<string, JsonSchema>): JsonSchema[] {
  if (!schema) return [];
  const converted = convert(schema, 'input', components) as {
    properties?: Record<string, JsonSchema>;
    required?: string[];
  };
  return Object.entries(converted.properties ?? {}).map(([name, property]) => ({
    name,
    in: 'query',
    required: converted.required?.includes(name) ?? false,
    schema: property,
  }));
}

function errorResponses(statuses: number[]): Record<string, JsonSchema> {
  const out: Record<string, JsonSchema> = {};
  for (const status of statuses) {
    out[String(status)] =
      status === 429
        ? {
            // Keyfleet itself never throttles: these come from the stage's or the route's throttle.
            description:
              "Throttled by API Gateway (the stage or a container route); its own body, not Keyfleet's error",
            content: {
              'application/json': {
                schema: { type: 'object', properties: { message: { type: 'string', const: 'Too Many Requests' } } },
              },
            },
          }
        : {
            description: `Error: ${errorCodesByStatus().get(status)?.join(', ') ?? 'error'}`,
            content: { 'application/json': { schema: { $ref: `${COMPONENT}Error` } } },
          };
  }
  return out;
}

/** The statuses every route of an access kind can answer besides its own. */
function standardErrors(route: Route): number[] {
  const common = [400, 404, 413, 429, 500];
  if (route.access === 'public') return [429, 500];
  if (route.access === 'container') return [...common, 401];
  return [...common, 401, 403];
}

function operation(route: Route, components: Record<string, JsonSchema>): JsonSchema {
  const contract = route.contract;
  const responses: Record<string, JsonSchema> = {};
  for (const [status, response] of Object.entries(contract?.responses ?? { 200: { description: 'OK' } })) {
    responses[status] = {
      description: response.description,
      ...(response.schema
        ? { content: { 'application/json': { schema: convert(response.schema, 'output', components) } } }
        : {}),
    };
  }
  const errors = [...new Set([...standardErrors(route), ...(contract?.errors ?? [])])].sort((a, b) => a - b);
  const bodyTypes =
    route.body === 'json_or_form' ? ['application/json', 'application/x-www-form-urlencoded'] : ['application/json'];
  return {
    operationId: `${route.method.toLowerCase()}${route.path.replace(/\{([^}]+)\}/g, 'By_$1').replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : ''))}`,
    summary: contract?.summary ?? `${route.method} ${route.path}`,
    tags: [contract?.tag ?? 'other'],
    'x-keyfleet-access': route.access,
    security: ACCESS_SECURITY[route.access],
    parameters: [...pathParameters(route.path), ...queryParameters(contract?.query, components)],
    ...(contract?.body
      ? {
          requestBody: {
            required: !contract.bodyOptional,
            content: Object.fromEntries(
              bodyTypes.map((type) => [type, { schema: convert(contract.body as z.ZodMiniType, 'input', components) }]),
            ),
          },
        }
      : {}),
    // A status the route declares itself (e.g. an OAuth-shaped 400) is described as declared.
    responses: { ...errorResponses(errors.filter((status) => !(String(status) in responses))), ...responses },
  };
}

/** Builds the document for `routes` (every function's route table, in order). */
export function openApiDocument(routes: Route[], version: string): JsonSchema {
  const components: Record<string, JsonSchema> = {};
  convert(errorBody, 'output', components);
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const route of routes) {
    paths[route.path] ??= {};
    (paths[route.path] as Record<string, JsonSchema>)[route.method.toLowerCase()] = operation(route, components);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Keyfleet API',
      version,
      description:
        'Credential broker for AI coding agents. Errors are {"error":{"code","message"}}; every response carries cache-control: no-store. Admin routes need the admin role (x-keyfleet-access).',
    },
    servers: [{ url: '/', description: 'The API root (local mode: http://127.0.0.1:8787)' }],
    paths,
    components: {
      schemas: Object.fromEntries(Object.entries(components).sort(([a], [b]) => a.localeCompare(b))),
      securitySchemes: {
        iam: {
          type: 'apiKey',
          name: 'Authorization',
          in: 'header',
          description: 'AWS SigV4 (service execute-api): the default for a deployed stack.',
          'x-amazon-apigateway-authtype': 'awsSigv4',
        },
        jwt: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: 'The JWT authorizer option of a deployed stack.',
        },
        localBearer: { type: 'http', scheme: 'bearer', description: 'Local mode: the admin or member tokens.' },
        taskToken: {
          type: 'http',
          scheme: 'bearer',
          description:
            'Container routes: the task token from ticket redemption (redemption itself carries the ticket in the body).',
        },
      },
    },
  };
}
