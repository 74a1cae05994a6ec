/** The console's session store: sessions end with their token, logins are good for one callback within ten minutes. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createSessionStore } from '../src/server/sessions.ts';

const identity = { subject: 'alice', issuer: 'http://idp.test', kind: 'human' as const, groups: ['dba'] };

describe('console session store', () => {
  it('given a session, when its access token expires, then it is gone', () => {
    let now = 1_000_000;
    const store = createSessionStore(() => now);
    const s = store.create(identity, 'token', now + 60_000);
    assert.equal(store.get(s.id)?.identity.subject, 'alice');
    now += 60_000;
    assert.equal(store.get(s.id), undefined);
  });

  it('given two sessions, their ids and CSRF tokens differ and neither is the access token', () => {
    const store = createSessionStore();
    const a = store.create(identity, 'token-a', Date.now() + 60_000);
    const b = store.create(identity, 'token-b', Date.now() + 60_000);
    assert.notEqual(a.id, b.id);
    assert.notEqual(a.csrfToken, b.csrfToken);
    assert.ok(a.id.length >= 43 && a.csrfToken.length >= 32);
    assert.ok(![a.id, a.csrfToken].includes('token-a'));
  });

  it('given a login, when it is finished once, a second finish or one after ten minutes finds nothing', () => {
    let now = 0;
    const store = createSessionStore(() => now);
    store.startLogin('s1', 'v1', '/sessions');
    assert.deepEqual(store.finishLogin('s1'), { codeVerifier: 'v1', returnTo: '/sessions', expiresAt: 600_000 });
    assert.equal(store.finishLogin('s1'), undefined);
    store.startLogin('s2', 'v2', '/');
    now = 600_000;
    assert.equal(store.finishLogin('s2'), undefined);
  });

  it('given a session, when it is ended, then it is gone', () => {
    const store = createSessionStore();
    const s = store.create(identity, 'token', Date.now() + 60_000);
    store.end(s.id);
    assert.equal(store.get(s.id), undefined);
    assert.equal(store.get(undefined), undefined);
  });
});
