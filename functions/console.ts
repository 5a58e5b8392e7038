import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { serveConsoleFile } from '../web/serve.ts';

const cache = new Map<string, Promise<Buffer>>();

/** The console's files: written beside this bundle at build time (`console/`), read once. */
function read(file: string): Promise<Buffer> {
  let body = cache.get(file);
  if (!body) {
    const dir = process.env.KEYFLEET_CONSOLE_ASSETS ?? join(dirname(fileURLToPath(import.meta.url)), 'console');
    body = readFile(join(dir, file));
    cache.set(file, body);
    body.catch(() => cache.delete(file));
  }
  return body;
}

/**
 * Serves the web console from a Lambda behind the HTTP API (`GET /` and `GET /console/{proxy+}`,
 * no authorizer: the files hold no secret; every API call the page makes is authorized as usual).
 * Same files and headers as local mode; `/console/config.json` tells the page how to sign in.
 */
export async function handler(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
  const answer = await serveConsoleFile(event.requestContext.http.method, event.rawPath, read, process.env);
  if (!answer) {
    return {
      statusCode: 404,
      headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
      body: JSON.stringify({ error: { code: 'not_found', message: 'No such console file.' } }),
    };
  }
  return {
    statusCode: answer.status,
    headers: answer.headers,
    body: answer.body.toString('base64'),
    isBase64Encoded: true,
  };
}
