import { useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import { queryApi, unwrap } from '../api.ts';
import { ErrorNote, Loading } from '../components/States.tsx';
import { formatTime } from '../time.ts';

export function IdentitiesPage() {
  const [dormant, setDormant] = useState('');
  const [kind, setKind] = useState<'' | 'human' | 'service'>('');
  const [overOnly, setOverOnly] = useState(false);
  const identities = useQuery({
    queryKey: ['identities', dormant, kind],
    queryFn: async () =>
      unwrap(await queryApi.GET('/identities', { params: { query: { ...(dormant ? { dormantSince: dormant } : {}), ...(kind ? { kind } : {}) } } })).items,
  });
  const over = useQuery({
    queryKey: ['overprivileged'],
    queryFn: async () => unwrap(await queryApi.GET('/identities/overprivileged', { params: { query: {} } })),
    retry: false,
  });
  const overBySubject = new Map((over.data?.items ?? []).map((o) => [`${o.issuer} ${o.subject}`, o]));
  const shown = identities.data?.filter((i) => !overOnly || overBySubject.has(`${i.issuer} ${i.subject}`));
  return (
    <section aria-labelledby="identities-title">
      <h1 id="identities-title">Identities</h1>
      <form className="filters" aria-label="Filter identities" onSubmit={(e) => e.preventDefault()}>
        <label>
          Dormant
          <select value={dormant} onChange={(e) => setDormant(e.target.value)}>
            <option value="">all identities</option>
            <option value="1d">not seen for 1 day</option>
            <option value="7d">not seen for 7 days</option>
            <option value="30d">not seen for 30 days</option>
            <option value="90d">not seen for 90 days</option>
          </select>
        </label>
        <label>
          Kind
          <select value={kind} onChange={(e) => setKind(e.target.value as typeof kind)}>
            <option value="">any</option>
            <option value="human">people</option>
            <option value="service">services</option>
          </select>
        </label>
        <label>
          <input type="checkbox" checked={overOnly} disabled={!over.data} onChange={(e) => setOverOnly(e.target.checked)} /> Over-privileged only
        </label>
      </form>
      {identities.isPending && <Loading what="identities" />}
      {identities.error && <ErrorNote error={identities.error} />}
      {shown?.length === 0 && <p className="muted">No identity matches.</p>}
      {shown && shown.length > 0 && (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Identity</th>
                <th scope="col">Kind</th>
                <th scope="col">Groups</th>
                <th scope="col">Last seen</th>
                <th scope="col">Resources</th>
                <th scope="col">Commands by effect</th>
                <th scope="col">Classes used / admitted</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((i) => {
                const o = overBySubject.get(`${i.issuer} ${i.subject}`);
                return (
                  <tr key={`${i.issuer} ${i.subject}`}>
                    <td>
                      <Link to={`/sessions?identity=${encodeURIComponent(i.subject)}`}>{i.name ?? i.subject}</Link>
                      {i.name && <div className="muted">{i.subject}</div>}
                    </td>
                    <td>{i.kind}</td>
                    <td>{i.groups.join(', ')}</td>
                    <td>{formatTime(i.lastSeen)}</td>
                    <td>{i.resources.join(', ')}</td>
                    <td>{Object.entries(i.commandCounts).map(([k, v]) => `${k} ${v}`).join(', ')}</td>
                    <td>
                      {o ? (
                        <span className="badge effect-hold" title={`unused: ${o.unusedClasses.join(', ')}`}>
                          over-privileged: {o.usedClasses.length} of {o.admittedClasses.length}
                        </span>
                      ) : (
                        <span className="muted">—</span>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {over.error && <p className="muted">Over-privilege report unavailable: {(over.error as Error).message}</p>}
    </section>
  );
}
