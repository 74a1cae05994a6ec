import { useInfiniteQuery } from '@tanstack/react-query';
import { Link, useSearchParams } from 'react-router';
import { queryApi, unwrap } from '../api.ts';
import { ErrorNote, Loading } from '../components/States.tsx';
import { IntegrityBadge } from '../components/IntegrityBadge.tsx';
import { formatTime } from '../time.ts';

const FILTERS = ['identity', 'resource', 'protocol', 'effect', 'integrity', 'hadBlocked', 'from', 'to'] as const;
type Filter = (typeof FILTERS)[number];

/** datetime-local values are in the viewer's zone; the API wants ISO instants. */
const toIso = (local: string): string | undefined => (local ? new Date(local).toISOString() : undefined);

export function SessionsPage() {
  const [params, setParams] = useSearchParams();
  const filter = Object.fromEntries(FILTERS.map((f) => [f, params.get(f) ?? ''])) as Record<Filter, string>;
  const sessions = useInfiniteQuery({
    queryKey: ['sessions', filter],
    initialPageParam: undefined as string | undefined,
    queryFn: async ({ pageParam }) =>
      unwrap(
        await queryApi.GET('/sessions', {
          params: {
            query: {
              limit: 25,
              ...(pageParam ? { cursor: pageParam } : {}),
              ...(filter.identity ? { identity: filter.identity } : {}),
              ...(filter.resource ? { resource: filter.resource } : {}),
              ...(filter.protocol ? { protocol: filter.protocol as 'postgres' } : {}),
              ...(filter.effect ? { effect: filter.effect as 'allow' } : {}),
              ...(filter.integrity ? { integrity: filter.integrity as 'ok' } : {}),
              ...(filter.hadBlocked ? { hadBlocked: filter.hadBlocked as 'true' } : {}),
              ...(filter.from ? { from: toIso(filter.from) } : {}),
              ...(filter.to ? { to: toIso(filter.to) } : {}),
            },
          },
        }),
      ),
    getNextPageParam: (last) => last.nextCursor ?? undefined,
  });
  const items = sessions.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <section aria-labelledby="sessions-title">
      <h1 id="sessions-title">Sessions</h1>
      <form
        className="filters"
        role="search"
        aria-label="Filter sessions"
        onSubmit={(e) => {
          e.preventDefault();
          const form = new FormData(e.currentTarget);
          const next = new URLSearchParams();
          for (const f of FILTERS) {
            const v = String(form.get(f) ?? '').trim();
            if (v) next.set(f, v);
          }
          setParams(next);
        }}
      >
        <label>
          Identity <input name="identity" defaultValue={filter.identity} placeholder="subject" />
        </label>
        <label>
          Resource <input name="resource" defaultValue={filter.resource} />
        </label>
        <label>
          Protocol
          <select name="protocol" defaultValue={filter.protocol}>
            <option value="">any</option>
            <option value="postgres">PostgreSQL</option>
            <option value="ssh">SSH</option>
            <option value="http">HTTP</option>
          </select>
        </label>
        <label>
          Had a command
          <select name="effect" defaultValue={filter.effect}>
            <option value="">any</option>
            <option value="allow">allowed</option>
            <option value="mask">masked</option>
            <option value="block">blocked</option>
            <option value="hold">held</option>
          </select>
        </label>
        <label>
          Integrity
          <select name="integrity" defaultValue={filter.integrity}>
            <option value="">any</option>
            <option value="ok">ok</option>
            <option value="gap">gap</option>
            <option value="tampered">tampered</option>
          </select>
        </label>
        <label>
          Blocked or held
          <select name="hadBlocked" defaultValue={filter.hadBlocked}>
            <option value="">any</option>
            <option value="true">had some</option>
            <option value="false">none</option>
          </select>
        </label>
        <label>
          From <input type="datetime-local" name="from" defaultValue={filter.from} />
        </label>
        <label>
          To <input type="datetime-local" name="to" defaultValue={filter.to} />
        </label>
        <button type="submit" className="primary">
          Filter
        </button>
      </form>
      {sessions.isPending && <Loading what="sessions" />}
      {sessions.error && <ErrorNote error={sessions.error} />}
      {sessions.data && items.length === 0 && <p className="muted">No session matches.</p>}
      {items.length > 0 && (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Started</th>
                <th scope="col">Identity</th>
                <th scope="col">Resource</th>
                <th scope="col">Protocol</th>
                <th scope="col">Commands</th>
                <th scope="col">Blocked / held</th>
                <th scope="col">Integrity</th>
              </tr>
            </thead>
            <tbody>
              {items.map((s) => (
                <tr key={s.sessionId}>
                  <td>
                    <Link to={`/sessions/${s.sessionId}`}>{formatTime(s.openedAt ?? s.startedAt)}</Link>
                  </td>
                  <td>{s.identity.name ?? s.identity.subject}</td>
                  <td>{s.resource.name}</td>
                  <td>{s.protocol}</td>
                  <td>{s.commandCount}</td>
                  <td>{s.blockedOrHeldCount}</td>
                  <td>
                    <IntegrityBadge integrity={s.integrity} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {sessions.hasNextPage && (
        <button type="button" onClick={() => void sessions.fetchNextPage()} disabled={sessions.isFetchingNextPage}>
          {sessions.isFetchingNextPage ? 'Loading…' : 'More sessions'}
        </button>
      )}
    </section>
  );
}
