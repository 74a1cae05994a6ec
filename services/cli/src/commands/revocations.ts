/**
 * `portcullis revoke identity|group|client <name>`, `portcullis restore …`,
 * `portcullis revocations`, `portcullis sessions list --live`,
 * `portcullis sessions kill <id>`: the admin API of the query API
 * (PORTCULLIS_API_URL, token of a member of the admins group in PORTCULLIS_TOKEN).
 */
import type { Command } from 'commander';
import { commandGroup } from '../groups.ts';
import { apiGet, apiPost, query } from './audit.ts';

const KINDS = ['identity', 'group', 'client'] as const;
const WHAT = { identity: 'an identity (its subject)', group: 'every member of a group', client: 'every token issued to an OAuth client (client id)' };

interface Revocation {
  target: { kind: string; issuer: string; subject?: string; group?: string; clientId?: string };
  revokedAt: string;
  reason: string;
  revokedBy: { subject: string };
  restored?: { at: string; by: { subject: string }; reason?: string };
}
interface LiveSession {
  sessionId: string;
  identity: { subject: string; clientId?: string };
  resource: { name: string };
  protocol: string;
  openedAt: string;
  clientAddress?: string;
  tokenExpiresAt?: string;
  instance: string;
}

interface LogItem {
  type: string;
  at: string;
  target: { kind: string; name: string } | null;
  sessionId: string | null;
  reason: string | null;
  by: { subject: string };
  revokedAt: string | null;
}

const nameOf = (t: Revocation['target']): string => t.subject ?? t.group ?? t.clientId ?? '?';
const describe = (r: Revocation): string =>
  `${r.target.kind} ${nameOf(r.target)} (${r.target.issuer}) revoked at ${r.revokedAt} by ${r.revokedBy.subject}: ${r.reason}${r.restored ? `; restored at ${r.restored.at} by ${r.restored.by.subject}${r.restored.reason ? `: ${r.restored.reason}` : ''}` : ''}`;

export function registerRevocationCommands(program: Command): void {
  const revoke = commandGroup(program, 'revoke', 'end access everywhere, live sessions included (admins)');
  const restore = commandGroup(program, 'restore', 'lift a revocation; tokens issued before it stay refused (admins)');
  for (const kind of KINDS) {
    revoke.command(kind).description(`revoke ${WHAT[kind]}`).argument('<name>')
      .option('--issuer <url>', 'issuer of the identity (default: the issuer the API trusts)')
      .requiredOption('--reason <text>', 'recorded, and shown to the caller whose session ends')
      .option('--json', 'print JSON')
      .action(async (name: string, o: { issuer?: string; reason: string; json?: boolean }) => {
        const r = (await apiPost('/admin/revocations', { kind, name, reason: o.reason, ...(o.issuer ? { issuer: o.issuer } : {}) })) as Revocation;
        console.log(o.json ? JSON.stringify(r, null, 2) : describe(r));
      });
    restore.command(kind).description(`restore ${WHAT[kind]}`).argument('<name>')
      .option('--issuer <url>', 'issuer of the identity (default: the issuer the API trusts)')
      .option('--reason <text>', 'recorded with the restore')
      .option('--json', 'print JSON')
      .action(async (name: string, o: { issuer?: string; reason?: string; json?: boolean }) => {
        const r = (await apiPost('/admin/restorations', { kind, name, ...(o.reason ? { reason: o.reason } : {}), ...(o.issuer ? { issuer: o.issuer } : {}) })) as Revocation;
        console.log(o.json ? JSON.stringify(r, null, 2) : describe(r));
      });
  }
  program.command('revocations').description('revocations in force and lifted ones (admins)').option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      const page = JSON.parse(await (await apiGet('/admin/revocations')).text()) as { items: Revocation[] };
      if (o.json) return console.log(JSON.stringify(page, null, 2));
      if (page.items.length === 0) return console.log('no revocations');
      for (const r of page.items) console.log(describe(r));
    });

  commandGroup(program, 'audit', 'query the audit: sessions, commands, export').command('revocations')
    .description('the revocation log, newest first: who revoked, restored or ended what, when and why (auditors)')
    .option('--name <name>', 'a subject, group or client id').option('--session-id <id>').option('--limit <n>', 'how many', '100').option('--json', 'print JSON')
    .action(async (o: { name?: string; sessionId?: string; limit: string; json?: boolean }) => {
      const page = JSON.parse(await (await apiGet(`/revocations${query({ name: o.name, sessionId: o.sessionId, limit: o.limit })}`)).text()) as { items: LogItem[] };
      if (o.json) return console.log(JSON.stringify(page, null, 2));
      for (const e of page.items) {
        const what = e.target ? `${e.target.kind} ${e.target.name}` : `session ${e.sessionId}`;
        console.log(`${e.at}  ${e.type.padEnd(17)}  ${what}  by ${e.by.subject}${e.reason ? `: ${e.reason}` : ''}${e.revokedAt ? ` (revoked at ${e.revokedAt})` : ''}`);
      }
    });

  const sessions = commandGroup(program, 'sessions', 'live sessions: list, kill (admins)');
  sessions.command('list').description('sessions the proxies serve now').option('--live', 'live sessions (the only kind listed here; past sessions: portcullis audit sessions)')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      const page = JSON.parse(await (await apiGet('/admin/sessions/live')).text()) as { items: LiveSession[] };
      if (o.json) return console.log(JSON.stringify(page, null, 2));
      if (page.items.length === 0) return console.log('no live sessions');
      for (const s of page.items) {
        console.log(`${s.sessionId}  ${s.protocol}  ${s.identity.subject}${s.identity.clientId && s.identity.clientId !== s.identity.subject ? ` (client ${s.identity.clientId})` : ''}  ${s.resource.name}  since ${s.openedAt}${s.tokenExpiresAt ? `  token until ${s.tokenExpiresAt}` : ''}  ${s.clientAddress ?? ''}  via ${s.instance}`);
      }
    });
  sessions.command('kill').description('end one live session').argument('<session-id>')
    .requiredOption('--reason <text>', 'recorded, and shown to the caller')
    .action(async (id: string, o: { reason: string }) => {
      await apiPost(`/admin/sessions/${encodeURIComponent(id)}/terminate`, { reason: o.reason });
      console.log(`session ${id} is being ended: ${o.reason}`);
    });
}
