import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { UpstreamError } from '#shared/errors.ts';
import { type RefreshAnswer, type RefreshRequest, refreshAnswerSchema } from '#shared/oauth/refresh-request.ts';

let lambda: LambdaClient | undefined;

/**
 * Asks the refresh function to refresh one account and waits for its answer. The refresh runs
 * there, so one that outlives the caller (a Lambda or an API request timing out) still stores the
 * tokens the provider rotated. Answers undefined when the function's answer is not one it knows.
 */
export async function refreshThroughFunction(
  functionName: string,
  request: RefreshRequest,
): Promise<RefreshAnswer | undefined> {
  lambda ??= new LambdaClient({});
  const out = await lambda.send(
    new InvokeCommand({ FunctionName: functionName, Payload: Buffer.from(JSON.stringify(request)) }),
  );
  if (out.FunctionError) throw new UpstreamError('The refresh function failed; try again.');
  try {
    const parsed = refreshAnswerSchema.safeParse(JSON.parse(Buffer.from(out.Payload ?? []).toString('utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
