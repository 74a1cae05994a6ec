/**
 * The slice of oidc-provider v9 that Portcullis uses. The package ships no
 * type declarations and @types/oidc-provider describes v8, so we declare what
 * we call and keep configuration loosely typed (it is checked at start-up by
 * oidc-provider itself).
 */
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  export interface OidcClient {
    clientId: string;
  }

  export interface OidcResourceServer {
    audience?: string;
    scope?: string;
    accessTokenTTL?: number;
    accessTokenFormat?: 'opaque' | 'jwt';
    identifier(): string;
  }

  export interface OidcToken {
    kind: string;
    clientId?: string;
    accountId?: string;
    client?: OidcClient;
    resourceServer?: OidcResourceServer;
    scope?: string;
    gty?: string;
    readonly expiration: number;
    readonly tokenType: string;
    save(): Promise<string>;
  }

  export interface OidcContext {
    oidc: {
      client?: OidcClient;
      params?: Record<string, unknown>;
      provider: Provider;
      entity(name: string, value: unknown): void;
    };
    body: unknown;
  }

  export class Provider {
    constructor(issuer: string, configuration?: Record<string, unknown>);
    readonly issuer: string;
    proxy: boolean;
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
    registerGrantType(
      name: string,
      handler: (ctx: OidcContext) => Promise<void>,
      parameters?: string | string[] | Set<string>,
      allowedDuplicateParameters?: string | string[] | Set<string>,
    ): void;
    on(event: string, listener: (...args: unknown[]) => void): this;
    AccessToken: new (init: {
      client: OidcClient;
      accountId: string;
      gty?: string;
      scope?: string;
      expiresIn?: number;
      grantId?: string;
    }) => OidcToken & { resourceServer?: OidcResourceServer };
    ResourceServer: new (identifier: string, info: Record<string, unknown>) => OidcResourceServer;
    Grant: {
      new (init: { clientId: string; accountId: string }): OidcGrant;
      find(id: string): Promise<OidcGrant | undefined>;
    };
    interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<{ uid: string; prompt: { name: string }; params: Record<string, unknown>; session?: { accountId?: string }; grantId?: string }>;
    interactionFinished(req: IncomingMessage, res: ServerResponse, result: Record<string, unknown>, options?: { mergeWithLastSubmission?: boolean }): Promise<void>;
  }

  export interface OidcGrant {
    addOIDCScope(scope: string): void;
    addResourceScope(resource: string, scope: string): void;
    save(): Promise<string>;
  }


  export namespace errors {
    class OIDCProviderError extends Error {
      error: string;
      error_description?: string;
    }
    class InvalidGrant extends OIDCProviderError {
      constructor(detail?: string);
    }
    class InvalidRequest extends OIDCProviderError {
      constructor(description?: string, code?: number);
    }
    class InvalidTarget extends OIDCProviderError {
      constructor(description?: string);
    }
  }

  export default Provider;
}
