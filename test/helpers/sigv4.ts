import type { IncomingMessage } from 'node:http';
import { Sha256 } from '@smithy/core/checksum';
import { SignatureV4 } from '@smithy/signature-v4';

/**
 * Checks a request's SigV4 signature the way API Gateway's IAM authorizer would, with the same
 * library the CLI signs with: the signed headers are signed again with the known credentials at the
 * request's own `x-amz-date`, and the two Authorization headers must match. The authorizer has no
 * local peer; this is the stand-in.
 */
export async function sigv4Verified(
  req: IncomingMessage,
  body: string,
  options: { base: string; region: string; credentials: { accessKeyId: string; secretAccessKey: string } },
): Promise<boolean> {
  const url = new URL(req.url ?? '/', options.base);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) if (typeof value === 'string') headers[name] = value;
  const signed = /SignedHeaders=([^,]+)/.exec(headers.authorization ?? '')?.[1]?.split(';') ?? [];
  const date = headers['x-amz-date'] ?? '';
  const signer = new SignatureV4({
    service: 'execute-api',
    region: options.region,
    credentials: options.credentials,
    sha256: Sha256,
  });
  const again = await signer.sign(
    {
      method: req.method ?? 'GET',
      protocol: 'http:',
      hostname: url.hostname,
      port: Number(url.port),
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: Object.fromEntries(
        Object.entries(headers).filter(([n]) => signed.includes(n) && n !== 'authorization' && n !== 'x-amz-date'),
      ),
      body: body || undefined,
    },
    {
      signingDate: new Date(
        `${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6, 8)}T${date.slice(9, 11)}:${date.slice(11, 13)}:${date.slice(13, 15)}Z`,
      ),
    },
  );
  return signed.length > 0 && again.headers.authorization === headers.authorization;
}
