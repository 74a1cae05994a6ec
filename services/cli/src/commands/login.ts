/**
 * `portcullis login [--issuer URL] [--device]`, `portcullis logout`,
 * `portcullis whoami`: a person's login, cached per issuer (src/auth).
 */
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { discover } from '../auth/discovery.ts';
import { browserLogin } from '../auth/login-browser.ts';
import { deviceLogin } from '../auth/login-device.ts';
import { removeLogin, writeLogin } from '../auth/login-cache.ts';
import { readClaims } from '../auth/jwt-claims.ts';
import { cliClientId, configDir, currentIssuerFile, loginResource, resolveIssuer } from '../auth/settings.ts';
import { loginFromTokenResponse, tokenSource } from '../auth/token-source.ts';
import { failsCleanly } from '../failure.ts';
import { existingSshPublicKey } from '../ssh/client-key.ts';
import { withdrawSshKey } from '../ssh/register-key.ts';
import { describeError } from '@portcullis/kit';

const LOGIN_SCOPE = 'openid profile email groups offline_access';

export function registerLoginCommands(program: Command): void {
  program
    .command('login')
    .description('log in to the OpenID provider: a browser login (authorization code + PKCE), or --device for machines without a browser')
    .option('--issuer <url>', 'the OpenID provider (default: PORTCULLIS_ISSUER, the last login, or the local provider)')
    .option('--device', 'device authorization grant: confirm a code on another device')
    .option('--no-browser', 'print the login address instead of opening a browser')
    .action(failsCleanly(async (options: { issuer?: string; device?: boolean; browser: boolean }) => {
      const issuer = resolveIssuer(options.issuer);
      const endpoints = await discover(issuer);
      const clientId = cliClientId();
      const common = { endpoints, clientId, scope: LOGIN_SCOPE, resource: loginResource() };
      const response = options.device
        ? await deviceLogin({
          ...common,
          present: (p) => {
            console.error(`To log in, open ${p.verificationUriComplete ?? p.verificationUri} and confirm the code ${p.userCode}`);
            if (p.verificationUriComplete) console.error(`(or open ${p.verificationUri} and enter the code). The code expires in ${Math.round(p.expiresInSeconds / 60)} minutes.`);
          },
        })
        : await browserLogin({
          ...common,
          present: (url) => {
            console.error(`Log in to Portcullis in your browser:\n  ${url}`);
            if (options.browser && process.env.BROWSER !== 'none') openBrowser(url);
          },
        });
      const login = loginFromTokenResponse(issuer, clientId, response);
      const file = await writeLogin(login);
      await mkdir(configDir(), { recursive: true, mode: 0o700 });
      await writeFile(currentIssuerFile(), `${issuer}\n`, { mode: 0o600 });
      const claims = readClaims(login.accessToken);
      console.log(`Logged in to ${issuer} as ${claims?.preferred_username ?? claims?.sub ?? 'unknown'}${claims?.groups?.length ? ` (groups ${claims.groups.join(', ')})` : ''}.`);
      console.error(`Login cached in ${file}${login.refreshToken ? '; it is refreshed as needed' : ' (no refresh token: log in again when it expires)'}.`);
    }));

  program
    .command('logout')
    .description('withdraw the SSH key registered with this login at the gateway, then forget the cached login for the issuer')
    .option('--issuer <url>', 'the OpenID provider')
    .option('--keys-url <url>', 'the SSH gateway\'s key API', process.env.PORTCULLIS_SSH_KEYS_URL || 'http://127.0.0.1:2280')
    .action(failsCleanly(async (options: { issuer?: string; keysUrl: string }) => {
      const issuer = resolveIssuer(options.issuer);
      const publicKey = existingSshPublicKey();
      if (publicKey) {
        // Best effort: a gateway that cannot be reached keeps the key until its registration expires; say so.
        try {
          const { accessToken } = await tokenSource(issuer).token();
          if (await withdrawSshKey(options.keysUrl, accessToken, publicKey)) console.log('Withdrew the SSH key registered at the gateway.');
        } catch (err) {
          console.error(`portcullis: the SSH key registered at the gateway could not be withdrawn (${describeError(err)}); it stays valid until its registration expires`);
        }
      }
      console.log((await removeLogin(issuer)) ? `Logged out of ${issuer}.` : `Not logged in to ${issuer}.`);
    }));

  program
    .command('whoami')
    .description('who the current token says you are, where it comes from and when it expires')
    .option('--issuer <url>', 'the OpenID provider')
    .option('--json', 'print JSON')
    .action(failsCleanly(async (options: { issuer?: string; json?: boolean }) => {
      const source = tokenSource(resolveIssuer(options.issuer));
      const { accessToken, expiresAt } = await source.token();
      const claims = readClaims(accessToken) ?? {};
      const who = {
        subject: claims.sub,
        name: claims.preferred_username,
        kind: claims.portcullis_kind,
        groups: claims.groups ?? [],
        issuer: claims.iss ?? source.issuer,
        tokenFrom: source.origin,
        expiresAt: expiresAt?.toISOString(),
      };
      if (options.json) return console.log(JSON.stringify(who, null, 2));
      console.log(`${who.name ?? who.subject} (subject ${who.subject}, ${who.kind ?? 'unknown kind'}) at ${who.issuer}`);
      console.log(`groups: ${who.groups.join(', ') || '-'}`);
      console.log(`token: ${who.tokenFrom}, expires ${who.expiresAt ?? 'unknown'}`);
    }));
}

/** Best effort: the login address is printed anyway. */
function openBrowser(url: string): void {
  const opener = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  try {
    const child = spawn(process.env.BROWSER || opener, [url], { stdio: 'ignore', detached: true });
    child.on('error', () => undefined);
    child.unref();
  } catch {
    // no browser here: the person uses the printed address
  }
}
