import { useEffect, useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link } from 'react-router';
import { approvalsApi, unwrap, type Approval, type Me } from '../api.ts';
import { ErrorNote, Loading } from '../components/States.tsx';
import { formatTime, timeLeft } from '../time.ts';

/** New holds arrive as server-sent events; the list is also re-read now and then in case the stream was down. */
const REFRESH_MS = 15_000;

/** Re-reads the approvals whenever the approvals service says one changed. */
function useApprovalEvents(): void {
  const queryClient = useQueryClient();
  useEffect(() => {
    const events = new EventSource('/api/approvals/approvals/events');
    events.addEventListener('approval', () => void queryClient.invalidateQueries({ queryKey: ['approvals'] }));
    return () => events.close();
  }, [queryClient]);
}

export function InboxPage({ me }: { me: Me }) {
  const pending = useQuery({
    queryKey: ['approvals', 'pending'],
    queryFn: async () => unwrap(await approvalsApi.GET('/approvals', { params: { query: { status: 'pending' } } })).approvals,
    refetchInterval: REFRESH_MS,
  });
  useApprovalEvents();
  const now = useNow();
  return (
    <section aria-labelledby="inbox-title">
      <h1 id="inbox-title">Approvals inbox</h1>
      {pending.isPending && <Loading what="pending approvals" />}
      {pending.error && <ErrorNote error={pending.error} />}
      {pending.data?.length === 0 && <p className="muted">Nothing is waiting for a decision.</p>}
      <ul className="cards" aria-live="polite">
        {[...(pending.data ?? [])].reverse().map((a) => (
          <li key={a.approvalId}>
            <ApprovalCard approval={a} me={me} now={now} />
          </li>
        ))}
      </ul>
    </section>
  );
}

function useNow(): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, []);
  return now;
}

/** Why this person may not decide, or undefined when they may. The API refuses the same cases. */
function whyNot(a: Approval, me: Me): string | undefined {
  if (a.requester.subject === me.subject && a.requester.kind === me.kind) return 'You asked for this command: someone else must approve it.';
  if (!a.approverGroups.some((g) => me.groups.includes(g))) return `Only members of ${a.approverGroups.join(' or ')} may decide.`;
  if (a.votes.some((v) => v.approver.subject === me.subject)) return 'You have voted; waiting for more approvers.';
  return undefined;
}

function ApprovalCard({ approval: a, me, now }: { approval: Approval; me: Me; now: number }) {
  const queryClient = useQueryClient();
  const [comment, setComment] = useState('');
  const decide = useMutation({
    mutationFn: async (action: 'grant' | 'deny') => {
      const path = action === 'grant' ? '/approvals/{id}/grant' : '/approvals/{id}/deny';
      return unwrap(await approvalsApi.POST(path, { params: { path: { id: a.approvalId } }, body: comment ? { comment } : {} }));
    },
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: ['approvals'] }),
  });
  const blocked = whyNot(a, me);
  const commentId = `comment-${a.approvalId}`;
  return (
    <article className="card approval" aria-label={`Approval for ${a.requester.subject} on ${a.resource.name}`}>
      <header>
        <strong>{a.requester.name ?? a.requester.subject}</strong> <span className="muted">({a.requester.kind}, {a.requester.groups.join(', ') || 'no groups'})</span> on{' '}
        <strong>{a.resource.name}</strong> {a.resource.tags.map((t) => <span key={t} className="tag">{t}</span>)}
      </header>
      <pre className="command">{a.commandText}</pre>
      <dl className="facts">
        <dt>Rule</dt>
        <dd>{a.ruleId}</dd>
        <dt>Stated reason</dt>
        <dd>{a.reason ?? <span className="muted">none given</span>}</dd>
        <dt>Votes</dt>
        <dd>
          {a.votes.length} of {a.quorum} ({a.approverGroups.join(', ')})
          {a.votes.map((v) => (
            <div key={v.approver.subject} className="muted">
              {v.approver.name ?? v.approver.subject}{v.comment ? `: “${v.comment}”` : ''}
            </div>
          ))}
        </dd>
        <dt>Requested</dt>
        <dd>{formatTime(a.requestedAt)}</dd>
        <dt>Expires in</dt>
        <dd>{timeLeft(a.expiresAt, now)}</dd>
        <dt>Session</dt>
        <dd>{me.canReadAudit ? <Link to={`/sessions/${a.sessionId}`}>{a.sessionId}</Link> : <code>{a.sessionId}</code>}</dd>
      </dl>
      {blocked ? (
        <p className="muted">{blocked}</p>
      ) : (
        <form
          className="decide"
          onSubmit={(e) => {
            e.preventDefault();
            const action = ((e.nativeEvent as SubmitEvent).submitter as HTMLButtonElement | null)?.value === 'deny' ? 'deny' : 'grant';
            decide.mutate(action);
          }}
        >
          <label htmlFor={commentId}>Comment</label>
          <textarea id={commentId} value={comment} maxLength={2000} rows={2} onChange={(e) => setComment(e.target.value)} />
          <div className="actions">
            <button type="submit" value="grant" className="primary" disabled={decide.isPending}>
              Approve
            </button>
            <button type="submit" value="deny" className="danger" disabled={decide.isPending}>
              Deny
            </button>
          </div>
          {decide.error && <ErrorNote error={decide.error} />}
        </form>
      )}
    </article>
  );
}
