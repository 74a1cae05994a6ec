import type { Command } from 'commander';
import { commandGroup } from '../groups.ts';

/**
 * `portcullis approvals list|show|grant|deny`: talks to the approvals API at
 * PORTCULLIS_APPROVALS_URL (default http://127.0.0.1:8091) with the access
 * token in PORTCULLIS_TOKEN. Exit status: 0 done, 1 refused by the API
 * (the API's message is printed), 2 usage or configuration error.
 */
interface ApprovalView {
  approvalId: string;
  status: string;
  requester: { subject: string; kind: string; name?: string };
  resource: { name: string; kind: string; tags: string[] };
  commandText: string;
  reason?: string;
  ruleId: string;
  approverGroups: string[];
  quorum: number;
  requestedAt: string;
  expiresAt: string;
  votes: { approver: { subject: string }; at: string; comment?: string }[];
  outcome?: { at: string; by: string[]; comment?: string; reason?: string };
}

const baseUrl = (): string => (process.env.PORTCULLIS_APPROVALS_URL ?? 'http://127.0.0.1:8091').replace(/\/$/, '');

async function api<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T | undefined> {
  const token = process.env.PORTCULLIS_TOKEN;
  if (!token) {
    console.error('set PORTCULLIS_TOKEN to your access token');
    process.exitCode = 2;
    return undefined;
  }
  let res: Response;
  try {
    res = await fetch(`${baseUrl()}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, accept: 'application/json', ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(15_000),
    });
  } catch (err) {
    console.error(`cannot reach the approvals API at ${baseUrl()}: ${(err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message}`);
    process.exitCode = 1;
    return undefined;
  }
  const payload = (await res.json().catch(() => ({}))) as T & { code?: string; message?: string };
  if (!res.ok) {
    console.error(`${payload.code ?? `HTTP ${res.status}`}: ${payload.message ?? res.statusText}`);
    process.exitCode = 1;
    return undefined;
  }
  return payload;
}

function describe(a: ApprovalView): string {
  const lines = [
    `approval:  ${a.approvalId}`,
    `status:    ${a.status}`,
    `requester: ${a.requester.name ? `${a.requester.name} (${a.requester.subject})` : a.requester.subject}, ${a.requester.kind}`,
    `resource:  ${a.resource.name} (${a.resource.kind}${a.resource.tags.length ? `; ${a.resource.tags.join(', ')}` : ''})`,
    `command:   ${a.commandText}`,
    `reason:    ${a.reason ?? a.ruleId} (rule ${a.ruleId})`,
    `needs:     ${a.quorum} of ${a.approverGroups.join(' or ')}, by ${a.expiresAt}`,
  ];
  for (const v of a.votes) lines.push(`vote:      ${v.approver.subject} at ${v.at}${v.comment ? `: ${v.comment}` : ''}`);
  if (a.outcome) lines.push(`outcome:   ${a.status}${a.outcome.by.length ? ` by ${a.outcome.by.join(', ')}` : ''} at ${a.outcome.at}${a.outcome.comment ? `: ${a.outcome.comment}` : ''}${a.outcome.reason ? `: ${a.outcome.reason}` : ''}`);
  return lines.join('\n');
}

export function registerApprovalsCommands(program: Command): void {
  const group = commandGroup(program, 'approvals', 'list, show, grant and deny held commands (PORTCULLIS_APPROVALS_URL, PORTCULLIS_TOKEN)');

  group
    .command('list')
    .description('approvals, oldest first (pending by default)')
    .option('--status <status>', 'pending, granted, denied, expired, cancelled or all', 'pending')
    .option('--json', 'print the API response')
    .action(async (options: { status: string; json?: boolean }) => {
      const query = options.status === 'all' ? '' : `?status=${encodeURIComponent(options.status)}`;
      const result = await api<{ approvals: ApprovalView[] }>('GET', `/approvals${query}`);
      if (!result) return;
      if (options.json) return void console.log(JSON.stringify(result, null, 2));
      if (result.approvals.length === 0) return void console.log(`no ${options.status === 'all' ? '' : `${options.status} `}approvals`);
      for (const a of result.approvals) {
        console.log(`${a.approvalId}  ${a.status.padEnd(9)}  ${a.requester.subject}  ${a.resource.name}  ${a.votes.length}/${a.quorum}  expires ${a.expiresAt}  ${a.commandText.replace(/\s+/g, ' ').slice(0, 60)}`);
      }
    });

  group
    .command('show')
    .description('one approval in full')
    .argument('<id>', 'approval id')
    .option('--json', 'print the API response')
    .action(async (id: string, options: { json?: boolean }) => {
      const a = await api<ApprovalView>('GET', `/approvals/${encodeURIComponent(id)}`);
      if (a) console.log(options.json ? JSON.stringify(a, null, 2) : describe(a));
    });

  for (const action of ['grant', 'deny'] as const) {
    group
      .command(action)
      .description(action === 'grant' ? 'vote for a held command (granted once the quorum is reached)' : 'deny a held command (one denial denies)')
      .argument('<id>', 'approval id')
      .option('-m, --comment <text>', 'recorded with your decision and shown to the requester')
      .option('--json', 'print the API response')
      .action(async (id: string, options: { comment?: string; json?: boolean }) => {
        const a = await api<ApprovalView>('POST', `/approvals/${encodeURIComponent(id)}/${action}`, options.comment ? { comment: options.comment } : {});
        if (a) console.log(options.json ? JSON.stringify(a, null, 2) : describe(a));
      });
  }
}
