import { mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ResourceNotFoundException,
} from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { createTableInput } from '#infra/table-definition.ts';

export interface RunningDynamo {
  endpoint: string;
  close: () => Promise<void>;
}

/**
 * Starts an embedded DynamoDB-compatible endpoint (dynalite) on a random or given loopback port,
 * in memory or persisted under `path`.
 */
export async function startDynamo(options: { path?: string; port?: number } = {}): Promise<RunningDynamo> {
  if (options.path) await mkdir(options.path, { recursive: true, mode: 0o700 });
  const server = dynalite({
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
    ...(options.path ? { path: options.path } : {}),
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

/** Waits until the table is ACTIVE (the embedded endpoint flips it on a timer). */
export async function untilActive(client: DynamoDBClient, tableName: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    const out = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (out.Table?.TableStatus === 'ACTIVE') return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`table ${tableName} did not become ACTIVE`);
}

/**
 * Creates the Keyfleet table (same definition as the CDK stack) unless it exists. Uses the SDK's
 * standard configuration, so `AWS_ENDPOINT_URL_DYNAMODB` must point at the endpoint.
 */
export async function ensureTable(tableName: string): Promise<void> {
  const client = new DynamoDBClient({});
  try {
    await client.send(new DescribeTableCommand({ TableName: tableName }));
  } catch (error) {
    if (!(error instanceof ResourceNotFoundException)) throw error;
    await client.send(new CreateTableCommand(createTableInput(tableName)));
    await untilActive(client, tableName);
  } finally {
    client.destroy();
  }
}
