import { useQuery } from '@tanstack/react-query';
import { Link, useParams } from 'react-router';
import { ApiError, approvalsApi, queryApi, unwrap } from '../api.ts';
import { EffectBadge, ErrorNote, Loading } from '../components/States.tsx';
import { IntegrityBadge } from '../components/IntegrityBadge.tsx';
import { TerminalReplay } from '../components/TerminalReplay.tsx';
import { formatTime } from '../time.ts';

export function SessionPage() {
  const { id = '' } = useParams();
  const session = useQuery({
    queryKey: ['session', id],
    queryFn: async () => unwrap(await queryApi.GET('/sessions/{id}', { params: { path: { id } } })),
    refetchInterval: (q) => (q.state.data?.closedAt ? false : 3000),
  });
  const transcript = useQuery({
    queryKey: ['replay', id],
    queryFn: async () => unwrap(await queryApi.GET('/sessions/{id}/replay', { params: { path: { id } } })),
    retry: false,
  });
  if (session.isPending) return <Loading what="the session" />;
  if (session.error) return <ErrorNote error={session.error} />;
  const s = session.data;
  const replay = transcript.data && typeof transcript.data === 'object' ? transcript.data : undefined;
  const exportUrl = (format: 'ndjson' | 'csv') => `/api/query/commands/export?sessionId=${encodeURIComponent(id)}&format=${format}`;
  return (
    <section aria-labelledby="session-title">
      <p>
        <Link to="/sessions">← Sessions</Link>
      </p>
      <h1 id="session-title">
        {s.protocol} session of {s.identity.name ?? s.identity.subject} on {s.resource.name} <IntegrityBadge integrity={s.integrity} />
        {s.disputed && <span className="badge effect-block">disputed</span>}
      </h1>
      <dl className="facts">
        <dt>Identity</dt>
        <dd>
          {s.identity.subject} ({s.identity.kind}; {(s.identity.groups ?? []).join(', ') || 'no groups'})
        </dd>
        <dt>Opened</dt>
        <dd>{formatTime(s.openedAt ?? s.startedAt)}</dd>
        <dt>Closed</dt>
        <dd>{s.closedAt ? `${formatTime(s.closedAt)}${s.closeReason ? ` (${s.closeReason})` : ''}` : 'open'}</dd>
        <dt>Client</dt>
        <dd>{[s.clientAddress, s.applicationName].filter(Boolean).join(' · ') || '—'}</dd>
        <dt>Integrity</dt>
        <dd>{s.integrity.detail}</dd>
      </dl>
      <p className="actions">
        <a className="button" href={exportUrl('ndjson')} download>
          Export NDJSON
        </a>
        <a className="button" href={exportUrl('csv')} download>
          Export CSV
        </a>
      </p>
      {s.protocol === 'ssh' && replay?.hasRecording && (
        <>
          <h2>Terminal</h2>
          <TerminalReplay sessionId={id} />
        </>
      )}
      <h2>Commands</h2>
      {s.commands.length === 0 && <p className="muted">No commands.</p>}
      <ol className="commands">
        {s.commands.map((c) => {
          const entry = replay?.entries.find((e) => e.commandId === c.commandId);
          return (
            <li key={c.commandId} className="card">
              <div className="command-head">
                <span className="muted">#{c.seq ?? '?'} · {formatTime(c.at)}</span> <EffectBadge effect={c.verdict.effect} />
                {c.verdict.held && <span className="badge effect-hold">was held</span>}
                {c.outcome.status && <span className="badge">{c.outcome.status}{c.outcome.tag ? ` · ${c.outcome.tag}` : ''}</span>}
                {c.flags.map((f) => <span key={f} className="badge effect-block">{f}</span>)}
              </div>
              <pre className="command">{c.text}</pre>
              {(c.verdict.ruleIds.length > 0 || c.verdict.reasons.length > 0) && (
                <p className="reasons">
                  {c.verdict.ruleIds.length > 0 && <>rule {c.verdict.ruleIds.join(', ')}: </>}
                  {c.verdict.reasons.join('; ')}
                </p>
              )}
              {c.outcome.error && <p className="error">{c.outcome.error}</p>}
              {c.dispute && (
                <p className="error">
                  Disputed by {c.dispute.verifiedBy ?? 'the verifier'}: the verdict from {c.dispute.decidedBy ?? 'an unknown decider'} is not what
                  the policy decides ({c.dispute.expectedEffect ?? 'undecidable'}) — {c.dispute.reason}
                </p>
              )}
              {c.verdict.approvalId && <ApprovalNote approvalId={c.verdict.approvalId} />}
              {entry?.results.map((r, i) => <ResultTable key={i} result={r} />)}
              {entry?.response && (
                <div className="http-response">
                  <p className="muted">Response{c.outcome.tag ? ` ${c.outcome.tag}` : ''}, as recorded (masked){entry.response.truncated ? ': the beginning only' : ''}</p>
                  <pre className="command">{entry.response.text}</pre>
                </div>
              )}
            </li>
          );
        })}
      </ol>
      {transcript.error && !(transcript.error instanceof ApiError && transcript.error.status === 404) && <ErrorNote error={transcript.error} />}
    </section>
  );
}

/** Who decided a held command, and what they said. */
function ApprovalNote({ approvalId }: { approvalId: string }) {
  const approval = useQuery({
    queryKey: ['approval', approvalId],
    queryFn: async () => unwrap(await approvalsApi.GET('/approvals/{id}', { params: { path: { id: approvalId } } })),
    retry: false,
  });
  if (!approval.data) return null;
  const a = approval.data;
  return (
    <div className="approval-note">
      <strong>Approval {a.status}</strong>
      {a.outcome && <> {formatTime(a.outcome.at)} by {a.outcome.by.join(', ')}</>}
      {a.outcome?.comment && <> — “{a.outcome.comment}”</>}
      {a.votes.map((v) => (
        <div key={v.approver.subject} className="muted">
          vote: {v.approver.name ?? v.approver.subject} at {formatTime(v.at)}{v.comment ? ` — “${v.comment}”` : ''}
        </div>
      ))}
    </div>
  );
}

function ResultTable({ result }: { result: { columns: string[]; rows: (string | null)[][]; truncated: boolean } }) {
  return (
    <div className="table-wrap">
      <table className="result">
        <thead>
          <tr>
            {result.columns.map((c, i) => (
              <th key={i} scope="col">{c}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {result.rows.map((row, i) => (
            <tr key={i}>
              {row.map((v, j) => (
                <td key={j}>{v ?? <span className="muted">NULL</span>}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      {result.truncated && <p className="muted">Recording truncated.</p>}
    </div>
  );
}
