/**
 * `portcullis login --device`: the device authorization grant (RFC 8628) for
 * machines without a browser. The person opens the printed address on any
 * device and confirms the code; this process polls the token endpoint at the
 * interval the provider asks for.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { PortcullisError } from '@portcullis/kit';
import type { IssuerEndpoints } from './discovery.ts';
import { OAuthError, postForm, tokenRequest, type TokenResponse } from './oauth.ts';

export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

export interface DevicePrompt {
  userCode: string;
  verificationUri: string;
  verificationUriComplete?: string;
  expiresInSeconds: number;
}

export interface DeviceLoginOptions {
  endpoints: IssuerEndpoints;
  clientId: string;
  scope: string;
  resource: string | undefined;
  present(prompt: DevicePrompt): void;
}

export async function deviceLogin({ endpoints, clientId, scope, resource, present }: DeviceLoginOptions): Promise<TokenResponse> {
  if (!endpoints.deviceAuthorizationEndpoint) {
    throw new PortcullisError('PCL_ERR_CONFIG', `${endpoints.issuer} does not offer the device authorization grant; log in without --device`);
  }
  const started = await postForm(endpoints.deviceAuthorizationEndpoint, { client_id: clientId, scope, resource }).catch((err: unknown) => {
    if (err instanceof OAuthError) throw new PortcullisError('PCL_ERR_UNAUTHENTICATED', `${endpoints.issuer} refused a device login: ${err.message}`);
    throw err;
  });
  const deviceCode = String(started.device_code ?? '');
  const userCode = String(started.user_code ?? '');
  const verificationUri = String(started.verification_uri ?? '');
  if (!deviceCode || !userCode || !verificationUri) throw new PortcullisError('PCL_ERR_IDP_UNAVAILABLE', `${endpoints.issuer} answered the device authorization request without a code`);
  const expiresIn = Number(started.expires_in ?? 600);
  let intervalMs = Number(started.interval ?? 5) * 1000;
  present({
    userCode,
    verificationUri,
    verificationUriComplete: typeof started.verification_uri_complete === 'string' ? started.verification_uri_complete : undefined,
    expiresInSeconds: expiresIn,
  });
  const deadline = Date.now() + expiresIn * 1000;
  while (Date.now() < deadline) {
    await sleep(intervalMs);
    try {
      return await tokenRequest(endpoints.tokenEndpoint, { grant_type: DEVICE_CODE_GRANT, device_code: deviceCode, client_id: clientId });
    } catch (err) {
      if (!(err instanceof OAuthError)) throw err;
      if (err.error === 'authorization_pending') continue;
      // RFC 8628 §3.5: slow down by five seconds for this and every later request.
      if (err.error === 'slow_down') {
        intervalMs += 5000;
        continue;
      }
      if (err.error === 'access_denied') throw new PortcullisError('PCL_ERR_UNAUTHENTICATED', 'the login was denied at the provider');
      if (err.error === 'expired_token') break;
      throw new PortcullisError('PCL_ERR_UNAUTHENTICATED', `${endpoints.issuer} refused the device login: ${err.message}`);
    }
  }
  throw new PortcullisError('PCL_ERR_UNAUTHENTICATED', 'the device code expired before the login was confirmed: run portcullis login --device again');
}
