/**
 * Dispatches a command to its analyser. SQL analysis needs the session's
 * prepared statements; shell and HTTP analysis are stateless.
 */
import type { CommandRequested } from '@portcullis/schemas';
import type { Analysis } from './types.ts';
import { analyzeSql, emptySqlSession, type SqlSessionState } from './sql.ts';
import { analyzeShell } from './shell.ts';
import { analyzeHttp } from './http.ts';
import { analyzeMcpToolCall } from './mcp.ts';

export async function analyze(command: CommandRequested, session: SqlSessionState = emptySqlSession()): Promise<Analysis> {
  const cmd = command.command;
  switch (cmd.kind) {
    case 'sql': {
      // Every phase carries the statement's text: an execution (phase 'bind') is judged by the text it was parsed from.
      return analyzeSql(cmd.text, session);
    }
    case 'shell':
      // Forwarding, agent and subsystem channels carry no command line; decide judges the channel itself.
      if (cmd.channel !== 'exec' && cmd.channel !== 'shell') return { ok: true, kind: 'shell', commands: [] };
      // Where the line runs is not known (the login shell starts in a home directory we cannot see); `~` is the target user's.
      return analyzeShell(cmd.commandLine, cmd.targetUser !== undefined ? { user: cmd.targetUser } : {});
    case 'http':
      return analyzeHttp(cmd, command.resource.kind);
    case 'mcp-tool':
      return analyzeMcpToolCall(cmd);
    default: {
      const unknown: never = cmd;
      return { ok: false, error: `unknown command kind ${(unknown as { kind: string }).kind}` };
    }
  }
}

export { analyzeSql, analyzeSqlSync, advanceSqlSession, configureSqlParseCache, emptySqlSession, loadSqlParser, type SqlSessionState } from './sql.ts';
export type * from './types.ts';
