/**
 * Access (admins): revoke an identity, a group or an OAuth client, see the
 * revocations and lift one, see the live sessions every proxy reports and
 * end one. Every action goes through the query API's admin routes (which
 * check the admins group again) with the session's CSRF token.
 */
import { useId, useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { queryApi, unwrap } from '../api.ts';
import { ErrorNote, Loading } from '../components/States.tsx';
import { formatTime } from '../time.ts';

type Kind = 'identity' | 'group' | 'client';

export function AccessPage() {
  return (
    <section aria-labelledby="access-title">
      <h1 id="access-title">Access</h1>
      <RevokeForm />
      <LiveSessions />
      <Revocations />
    </section>
  );
}

function RevokeForm() {
  const queryClient = useQueryClient();
  const [kind, setKind] = useState<Kind>('identity');
  const [name, setName] = useState('');
  const [reason, setReason] = useState('');
  const ids = { kind: useId(), name: useId(), reason: useId() };
  const revoke = useMutation({
    mutationFn: async () => unwrap(await queryApi.POST('/admin/revocations', { body: { kind, name: name.trim(), reason: reason.trim() } })),
    onSuccess: () => {
      setName('');
      setReason('');
      // The proxies read the revocation within a second; the lists follow.
      setTimeout(() => void queryClient.invalidateQueries({ queryKey: ['access'] }), 1000);
    },
  });
  return (
    <form
      className="card"
      aria-label="Revoke access"
      onSubmit={(e) => {
        e.preventDefault();
        revoke.mutate();
      }}
    >
      <h2>Revoke</h2>
      <p className="muted">Live sessions it covers end within a second; new ones are refused with the reason.</p>
      <label htmlFor={ids.kind}>What</label>
      <select id={ids.kind} value={kind} onChange={(e) => setKind(e.target.value as Kind)}>
        <option value="identity">an identity (subject)</option>
        <option value="group">every member of a group</option>
        <option value="client">every token of an OAuth client</option>
      </select>
      <label htmlFor={ids.name}>Name</label>
      <input id={ids.name} value={name} required maxLength={500} onChange={(e) => setName(e.target.value)} />
      <label htmlFor={ids.reason}>Reason</label>
      <input id={ids.reason} value={reason} required maxLength={2000} onChange={(e) => setReason(e.target.value)} />
      <div className="actions">
        <button type="submit" className="danger" disabled={revoke.isPending || name.trim() === '' || reason.trim() === ''}>
          Revoke
        </button>
      </div>
      {revoke.isSuccess && (
        <p role="status">
          Revoked {revoke.data.target.kind} {revoke.data.target.subject ?? revoke.data.target.group ?? revoke.data.target.clientId} at {formatTime(revoke.data.revokedAt)}.
        </p>
      )}
      {revoke.error && <ErrorNote error={revoke.error} />}
    </form>
  );
}

function LiveSessions() {
  const queryClient = useQueryClient();
  const live = useQuery({
    queryKey: ['access', 'live'],
    queryFn: async () => unwrap(await queryApi.GET('/admin/sessions/live')).items,
    refetchInterval: 5000,
  });
  const [reason, setReason] = useState('');
  const reasonId = useId();
  const kill = useMutation({
    mutationFn: async (sessionId: string) =>
      unwrap(await queryApi.POST('/admin/sessions/{sessionId}/terminate', { params: { path: { sessionId } }, body: { reason: reason.trim() || 'ended by an admin' } })),
    onSuccess: () => setTimeout(() => void queryClient.invalidateQueries({ queryKey: ['access'] }), 1000),
  });
  return (
    <section className="card" aria-labelledby="live-title">
      <h2 id="live-title">Live sessions</h2>
      <label htmlFor={reasonId}>Reason for ending a session</label>
      <input id={reasonId} value={reason} maxLength={2000} onChange={(e) => setReason(e.target.value)} />
      {live.isPending && <Loading what="live sessions" />}
      {live.error && <ErrorNote error={live.error} />}
      {live.data?.length === 0 && <p className="muted">No live session.</p>}
      {live.data && live.data.length > 0 && (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Identity</th>
                <th scope="col">Resource</th>
                <th scope="col">Protocol</th>
                <th scope="col">Since</th>
                <th scope="col">Token until</th>
                <th scope="col">Proxy</th>
                <th scope="col"><span className="sr-only">End</span></th>
              </tr>
            </thead>
            <tbody>
              {live.data.map((s) => (
                <tr key={s.sessionId}>
                  <td>{s.identity.name ?? s.identity.subject}</td>
                  <td>{s.resource.name}</td>
                  <td>{s.protocol}</td>
                  <td>{formatTime(s.openedAt)}</td>
                  <td>{s.tokenExpiresAt ? formatTime(s.tokenExpiresAt) : '—'}</td>
                  <td className="muted">{s.instance}</td>
                  <td>
                    <button type="button" className="danger" disabled={kill.isPending} onClick={() => kill.mutate(s.sessionId)}>
                      End session<span className="sr-only"> of {s.identity.subject} on {s.resource.name}</span>
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {kill.error && <ErrorNote error={kill.error} />}
    </section>
  );
}

function Revocations() {
  const queryClient = useQueryClient();
  const list = useQuery({ queryKey: ['access', 'revocations'], queryFn: async () => unwrap(await queryApi.GET('/admin/revocations')).items });
  const restore = useMutation({
    mutationFn: async (t: { kind: Kind; name: string; issuer: string }) => unwrap(await queryApi.POST('/admin/restorations', { body: t })),
    onSuccess: () => setTimeout(() => void queryClient.invalidateQueries({ queryKey: ['access'] }), 1000),
  });
  return (
    <section className="card" aria-labelledby="revocations-title">
      <h2 id="revocations-title">Revocations</h2>
      {list.isPending && <Loading what="revocations" />}
      {list.error && <ErrorNote error={list.error} />}
      {list.data?.length === 0 && <p className="muted">Nothing is revoked.</p>}
      {list.data && list.data.length > 0 && (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Revoked</th>
                <th scope="col">When, by whom</th>
                <th scope="col">Reason</th>
                <th scope="col">Restored</th>
              </tr>
            </thead>
            <tbody>
              {list.data.map((r) => {
                const name = r.target.subject ?? r.target.group ?? r.target.clientId ?? '?';
                return (
                  <tr key={`${r.target.kind} ${r.target.issuer} ${name}`}>
                    <td>
                      {r.target.kind} <strong>{name}</strong>
                    </td>
                    <td>
                      {formatTime(r.revokedAt)} by {r.revokedBy.name ?? r.revokedBy.subject}
                    </td>
                    <td>{r.reason}</td>
                    <td>
                      {r.restored ? (
                        `${formatTime(r.restored.at)} by ${r.restored.by.name ?? r.restored.by.subject}`
                      ) : (
                        <button type="button" disabled={restore.isPending} onClick={() => restore.mutate({ kind: r.target.kind as Kind, name, issuer: r.target.issuer })}>
                          Restore {name}
                        </button>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {restore.error && <ErrorNote error={restore.error} />}
    </section>
  );
}
