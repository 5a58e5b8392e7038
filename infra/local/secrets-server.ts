import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AwsError, type Input, LocalSecretsManager, type SecretsStoreOptions } from '#infra/local/secrets-store.ts';

/**
 * The HTTP side of the local Secrets Manager endpoint, for local mode and tests: the JSON 1.1
 * protocol the AWS SDK sends (`POST /`, `x-amz-target: secretsmanager.<Operation>`) and AWS-shaped
 * errors (`__type`, `message`). The state lives in `secrets-store.ts`. It checks no signatures:
 * bind it to loopback only.
 */

const MAX_REQUEST_BYTES = 256 * 1024;

function regionOf(request: IncomingMessage): string {
  const match = /Credential=[^/]+\/\d{8}\/([a-z0-9-]+)\/secretsmanager\//.exec(request.headers.authorization ?? '');
  return match?.[1] ?? 'us-east-1';
}

async function readBody(request: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).byteLength;
    if (size > MAX_REQUEST_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function send(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
  response.end(JSON.stringify(body));
}

/** Reads one JSON 1.1 request: the operation from `x-amz-target` and the JSON object body. */
async function parseRequest(request: IncomingMessage): Promise<{ operation: string; input: Input }> {
  const target = String(request.headers['x-amz-target'] ?? '');
  if (request.method !== 'POST' || !target.startsWith('secretsmanager.')) {
    throw new AwsError('UnknownOperationException', 'Expected POST with x-amz-target: secretsmanager.<Operation>.');
  }
  const raw = await readBody(request);
  if (raw === undefined) throw new AwsError('InvalidParameterException', 'Request body too large.', 413);
  let input: unknown;
  try {
    input = raw ? JSON.parse(raw) : {};
  } catch {
    throw new AwsError('SerializationException', 'Request body is not valid JSON.');
  }
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new AwsError('SerializationException', 'Request body must be a JSON object.');
  }
  return { operation: target.slice('secretsmanager.'.length), input: input as Input };
}

export interface RunningSecretsServer {
  server: Server;
  endpoint: string;
  store: LocalSecretsManager;
  close: () => Promise<void>;
}

/** Starts the endpoint on a random (or given) loopback port. */
export async function startSecretsServer(
  options: SecretsStoreOptions & { port?: number } = {},
): Promise<RunningSecretsServer> {
  const store = new LocalSecretsManager(options);
  await store.load();
  const server = createServer(async (request, response) => {
    try {
      const { operation, input } = await parseRequest(request);
      send(response, 200, await store.dispatch(operation, input, regionOf(request)));
    } catch (error) {
      if (error instanceof AwsError) send(response, error.status, { __type: error.type, message: error.message });
      else send(response, 500, { __type: 'InternalServiceError', message: 'Internal error in the local endpoint.' });
    }
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    server,
    endpoint: `http://127.0.0.1:${port}`,
    store,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
