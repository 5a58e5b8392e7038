declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  /** The small part of oidc-provider's surface the test OAuth server uses. */
  export interface KoaContext {
    path: string;
    status: number;
    body: unknown;
    oidc?: {
      client?: { clientId: string };
      entities?: Record<string, { accountId?: string } | undefined>;
    };
  }

  export default class Provider {
    constructor(issuer: string, configuration: Record<string, unknown>);
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
    use(middleware: (ctx: KoaContext, next: () => Promise<void>) => Promise<void>): void;
  }
}
