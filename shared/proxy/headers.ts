import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { CREDENTIAL_HEADERS, type CredentialSlot } from '#shared/proxy/routes.ts';

/** Headers that describe one connection, not the message (RFC 9110 §7.6.1), plus their cousins. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'expect',
  'host',
]);

const DROPPED_FROM_AGENT = new Set([...HOP_BY_HOP, ...CREDENTIAL_HEADERS, 'accept-encoding', 'forwarded']);
const DROPPED_FROM_UPSTREAM = new Set([...HOP_BY_HOP, 'set-cookie']);

/** Header names the `connection` header lists are hop-by-hop too. */
function connectionListed(headers: IncomingHttpHeaders): Set<string> {
  const value = headers.connection;
  return new Set(
    (value ?? '')
      .split(',')
      .map((name) => name.trim().toLowerCase())
      .filter(Boolean),
  );
}

function copy(headers: IncomingHttpHeaders, dropped: Set<string>): OutgoingHttpHeaders {
  const listed = connectionListed(headers);
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || dropped.has(name) || listed.has(name) || name.startsWith('x-forwarded-')) continue;
    out[name] = value;
  }
  return out;
}

/** The value the agent presented in the credential slot (its placeholder), if any. */
export function presented(headers: IncomingHttpHeaders, slot: CredentialSlot): string | undefined {
  const raw = headers[slot.header];
  const value = Array.isArray(raw) ? undefined : raw;
  if (value === undefined || !slot.scheme) return value;
  const match = /^(\S+)\s+(\S+)$/.exec(value);
  return match && match[1]?.toLowerCase() === slot.scheme.toLowerCase() ? match[2] : undefined;
}

/**
 * The request headers sent upstream: the agent's own minus every credential, identity, hop-by-hop
 * and forwarding header, plus the account's credential (and account header) and the upstream's
 * Host. Answers are asked for uncompressed so their usage can be read as they stream.
 */
export function upstreamRequestHeaders(
  agent: IncomingHttpHeaders,
  attach: { slot: CredentialSlot; credential: string; accountHeader?: string; accountId: string | null },
  host: string,
): OutgoingHttpHeaders {
  const out = copy(agent, DROPPED_FROM_AGENT);
  out.host = host;
  out['accept-encoding'] = 'identity';
  out[attach.slot.header] = attach.slot.scheme ? `${attach.slot.scheme} ${attach.credential}` : attach.credential;
  if (attach.accountHeader && attach.accountId) out[attach.accountHeader] = attach.accountId;
  return out;
}

/** The answer's headers as the agent receives them: without hop-by-hop headers and cookies. */
export function agentResponseHeaders(upstream: IncomingHttpHeaders): OutgoingHttpHeaders {
  return copy(upstream, DROPPED_FROM_UPSTREAM);
}
