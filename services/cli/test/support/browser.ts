/**
 * A person at a browser, scripted: follows the local OpenID provider's
 * redirects with a cookie jar, fills in the device-code confirmation and the
 * login form (the dev person's password), and stops at the first address
 * outside the provider (the CLI's loopback redirect), which it visits once.
 */
import assert from 'node:assert/strict';
import { devPassword } from '@portcullis/infra';

const hidden = (html: string): Record<string, string> => {
  const fields: Record<string, string> = {};
  // Test-side scraping of the provider's own HTML forms (no command matching involved).
  for (const m of html.matchAll(/<input[^>]*type="hidden"[^>]*>/g)) {
    const name = /name="([^"]+)"/.exec(m[0])?.[1];
    const value = /value="([^"]*)"/.exec(m[0])?.[1];
    if (name) fields[name] = value ?? '';
  }
  return fields;
};

const formAction = (html: string): string | undefined => /<form[^>]*action="([^"]+)"/.exec(html)?.[1];

export async function loginInBrowser(start: string, issuer: string, person: string): Promise<string> {
  const jar = new Map<string, string>();
  const password = await devPassword(issuer, person);
  const request = async (url: string, form?: Record<string, string>): Promise<Response> => {
    const res = await fetch(url, {
      method: form ? 'POST' : 'GET',
      redirect: 'manual',
      headers: { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; '), ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
      body: form ? new URLSearchParams(form) : undefined,
    });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const at = pair!.indexOf('=');
      jar.set(pair!.slice(0, at), pair!.slice(at + 1));
    }
    return res;
  };
  let url = start;
  let form: Record<string, string> | undefined;
  for (let step = 0; step < 20; step++) {
    const res = await request(url, form);
    form = undefined;
    const location = res.headers.get('location');
    if (location) {
      url = new URL(location, url).toString();
      if (!url.startsWith(issuer)) {
        // The client's redirect (the CLI's loopback listener): the browser delivers the code there.
        const done = await fetch(url);
        return await done.text();
      }
      continue;
    }
    const html = await res.text();
    assert.equal(res.status < 400, true, `${url} answered ${res.status}: ${html.slice(0, 400)}`);
    const action = formAction(html);
    if (!action) return html;
    if (html.includes('name="password"')) form = { username: person, password };
    else form = { ...hidden(html), confirm: 'yes' };
    // The device confirmation form names its user code in a text input.
    const userCode = /name="user_code"[^>]*value="([^"]+)"/.exec(html)?.[1];
    if (userCode) form.user_code = userCode;
    url = new URL(action, url).toString();
  }
  throw new Error('the login did not finish in 20 steps');
}
