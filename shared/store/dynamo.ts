import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ConditionFailedError, UpstreamError } from '#shared/errors.ts';

let client: DynamoDBDocumentClient | undefined;

/**
 * The document client, built from the SDK's standard configuration (`AWS_REGION`,
 * `AWS_ENDPOINT_URL_DYNAMODB`, credentials chain). No endpoint plumbing of our own.
 */
export function documentClient(): DynamoDBDocumentClient {
  client ??= DynamoDBDocumentClient.from(new DynamoDBClient({}), {
    marshallOptions: { removeUndefinedValues: true },
  });
  return client;
}

/**
 * Translates a DynamoDB failure at the store boundary: a lost condition becomes
 * {@link ConditionFailedError}; anything else an `upstream_error` that names the service only.
 */
export function translateDynamoError(error: unknown): never {
  if (error instanceof ConditionFailedError) throw error;
  const name = (error as { name?: string } | null)?.name;
  if (name === 'ConditionalCheckFailedException') {
    throw new ConditionFailedError('condition failed', { cause: error });
  }
  throw new UpstreamError('DynamoDB request failed; try again.', { cause: error });
}

/**
 * Runs a conditional DynamoDB write: true when it was applied, false when its condition did not
 * hold (nothing changed). Any other failure is translated as by {@link dynamo}.
 */
export async function conditional(call: () => Promise<unknown>): Promise<boolean> {
  try {
    await dynamo(call);
    return true;
  } catch (error) {
    if (error instanceof ConditionFailedError) return false;
    throw error;
  }
}

/** Runs a DynamoDB call with {@link translateDynamoError}. */
export async function dynamo<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    translateDynamoError(error);
  }
}
