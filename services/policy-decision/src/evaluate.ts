/**
 * analyze + decide, and the session the command leaves behind. What the
 * Kafka loop and `portcullis policy eval` call.
 */
import type { CommandRequested } from '@portcullis/schemas';
import { analyze } from './analysis/index.ts';
import { advanceSqlSession, emptySqlSession, type SqlSessionState } from './analysis/sql.ts';
import type { Analysis } from './analysis/types.ts';
import { decide, type Decision } from './decide.ts';
import type { PolicyState } from './policy/state.ts';

export interface Evaluation {
  decision: Decision;
  analysis: Analysis;
  /**
   * The SQL session after this command when it runs now (allow or mask).
   * For hold, apply advanceSession() once the approved command ran; for block the session is unchanged.
   */
  session: SqlSessionState;
}

export async function evaluate(command: CommandRequested, state: PolicyState, session: SqlSessionState = emptySqlSession()): Promise<Evaluation> {
  const analysis = await analyze(command, session);
  const decision = decide(command, analysis, state);
  const runs = decision.effect === 'allow' || decision.effect === 'mask';
  return { decision, analysis, session: runs ? advanceSession(session, command, analysis) : session };
}

/** The SQL session after `command` ran: SQL PREPARE/DEALLOCATE, extended-protocol Parse of a named statement, and each execution's effects. */
export function advanceSession(session: SqlSessionState, command: CommandRequested, analysis: Analysis): SqlSessionState {
  if (!analysis.ok || analysis.kind !== 'sql' || command.command.kind !== 'sql') return session;
  const cmd = command.command;
  if (cmd.phase === 'parse') {
    // A Parse prepares; what the statement does to the session happens at each execution (phase 'bind').
    return cmd.statementName ? { ...session, prepared: new Map(session.prepared).set(cmd.statementName, cmd.text) } : session;
  }
  return advanceSqlSession(session, analysis);
}
