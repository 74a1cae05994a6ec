/**
 * The local provider's browser login, for the web console's authorization
 * code flow: one page that asks a dev person's name and password.
 *
 *   GET  /interaction/:uid         the login form (oidc-provider redirects here)
 *   POST /interaction/:uid/login   username + password → back to the client
 *
 * Passwords are generated per data dir (provider-state.ts, people.json) and
 * printed by `portcullis dev password NAME`, so a browser login needs the same
 * access to the data dir as the dev-login grant's client secret. The
 * interaction is bound to oidc-provider's interaction cookie, so a form posted
 * from another site (or for another interaction) is refused by
 * interactionDetails. Consent is not asked: the console is first-party, so its
 * grant (the person's OIDC claims, an access token for Portcullis) is given
 * here, and so is the `portcullis` command's (browser or device login); any
 * other client asking for consent is refused.
 */
/// <reference path="./oidc-provider.d.ts" />
import { timingSafeEqual, createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type Provider from 'oidc-provider';
import { DEV_PEOPLE, FIRST_PARTY_CLIENTS, PORTCULLIS_RESOURCE, findPerson } from './directory.ts';
import type { PersonCredential } from './provider-state.ts';

const FORM_LIMIT_BYTES = 4096;

/** Answers the interaction routes; returns false for every other path (the provider's own). */
export function loginPageHandler(provider: Provider, people: readonly PersonCredential[]) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const path = (req.url ?? '').split('?')[0]!;
    const match = /^\/interaction\/([\w-]{1,64})(\/login)?$/.exec(path);
    if (!match) return false;
    const [, uid, login] = match;
    res.setHeader('cache-control', 'no-store');
    res.setHeader('x-frame-options', 'DENY');
    // No form-action: Chrome applies it to the redirects after the post, which end at the client's redirect URI.
    res.setHeader('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'");
    try {
      const details = await provider.interactionDetails(req, res);
      if (details.uid !== uid) return send(res, 400, page('This login link does not belong to this browser session. Start again from the console.'));
      if (details.prompt.name === 'consent') return await consentForFirstParty(provider, req, res, details);
      if (details.prompt.name !== 'login') return send(res, 400, page('Nothing to log in here. Start again from the console.'));
      if (!login) return send(res, 200, loginForm(uid!));
      if (req.method !== 'POST') return send(res, 405, page('Use the form.'));
      const form = new URLSearchParams(await readBody(req));
      const username = form.get('username') ?? '';
      const password = form.get('password') ?? '';
      const person = findPerson(username);
      const expected = people.find((p) => p.username === username)?.password;
      if (!person || expected === undefined || !samePassword(password, expected)) {
        return send(res, 401, loginForm(uid!, 'Unknown name or wrong password.', username));
      }
      await provider.interactionFinished(req, res, { login: { accountId: person.username } }, { mergeWithLastSubmission: false });
      return true;
    } catch (err) {
      // SessionNotFound and friends: an expired or foreign interaction. Never echo input.
      const name = (err as Error).name;
      return send(res, 400, page(`This login can no longer be completed (${name}). Start again from the console.`));
    }
  };
}

type Details = Awaited<ReturnType<Provider['interactionDetails']>>;

async function consentForFirstParty(provider: Provider, req: IncomingMessage, res: ServerResponse, details: Details): Promise<boolean> {
  const clientId = details.params['client_id'];
  const accountId = details.session?.accountId;
  if (typeof clientId !== 'string' || !FIRST_PARTY_CLIENTS.includes(clientId) || !accountId) {
    return send(res, 403, page('Only the Portcullis console and the portcullis command may use this login.'));
  }
  const grant = (details.grantId ? await provider.Grant.find(details.grantId) : undefined) ?? new provider.Grant({ clientId, accountId });
  grant.addOIDCScope('openid profile email groups');
  grant.addResourceScope(PORTCULLIS_RESOURCE, '');
  const grantId = await grant.save();
  await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  return true;
}

function samePassword(given: string, expected: string): boolean {
  // Hash both so the comparison has a fixed length and leaks no length.
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

async function readBody(req: IncomingMessage): Promise<string> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > FORM_LIMIT_BYTES) throw new Error('form too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function send(res: ServerResponse, status: number, html: string): true {
  res.statusCode = status;
  res.setHeader('content-type', 'text/html; charset=utf-8');
  res.end(html);
  return true;
}

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function loginForm(uid: string, error?: string, username = ''): string {
  const options = DEV_PEOPLE.map(
    (p) => `<option value="${escapeHtml(p.username)}"${p.username === username ? ' selected' : ''}>${escapeHtml(p.name)} (${escapeHtml(p.username)}: ${escapeHtml(p.groups.join(', '))})</option>`,
  ).join('');
  return page(
    `<form method="post" action="/interaction/${escapeHtml(uid)}/login">
      <label for="username">Person</label>
      <select id="username" name="username" autofocus>${options}</select>
      <label for="password">Password</label>
      <input id="password" name="password" type="password" autocomplete="current-password" required>
      ${error ? `<p role="alert" class="error">${escapeHtml(error)}</p>` : ''}
      <button type="submit">Log in</button>
      <p class="hint">Development provider: <code>npx portcullis dev password NAME</code> prints a person's password.</p>
    </form>`,
  );
}

function page(body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Log in — Portcullis development identity provider</title>
<style>
body{font-family:system-ui,sans-serif;background:#f4f5f7;color:#1d2433;display:grid;place-items:center;min-height:100vh;margin:0}
main{background:#fff;padding:2rem;border-radius:8px;box-shadow:0 1px 4px #0002;width:min(26rem,90vw)}
h1{font-size:1.2rem;margin:0 0 1rem}label{display:block;margin:.8rem 0 .3rem;font-weight:600}
select,input{width:100%;box-sizing:border-box;padding:.5rem;font-size:1rem;border:1px solid #8a93a6;border-radius:4px}
button{margin-top:1.2rem;width:100%;padding:.6rem;font-size:1rem;background:#1f4fd1;color:#fff;border:0;border-radius:4px;cursor:pointer}
.error{color:#a4141c}.hint{color:#4a5365;font-size:.85rem}
</style></head><body><main><h1>Portcullis development login</h1>${body}</main></body></html>`;
}
