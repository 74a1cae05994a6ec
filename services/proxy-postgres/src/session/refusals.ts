/**
 * How a refused command looks on the wire: the caller gets Portcullis's
 * ErrorResponse, and the target gets a placeholder that fails, so it reacts
 * exactly as to any failing statement (an open transaction block becomes
 * aborted, the extended protocol discards until Sync) while nothing of the
 * caller's statement runs. The target's error is replaced by the refusal
 * (target-to-caller.ts).
 */
import { serialize } from 'pg-protocol';
import { describeVerdict, type CommandRefusal } from '@portcullis/kit';
import { PgClientError, SqlState } from '../errors.ts';
import type { SessionContext } from './context.ts';

const REFUSAL_STATEMENT = 'PORTCULLIS_REFUSED_THIS_STATEMENT';
const REFUSAL_STATEMENT_NAME = '__portcullis_refused';

export function forwardRefusal(ctx: SessionContext, kind: 'query' | 'function-call' | 'extended', error: PgClientError): void {
  if (kind === 'extended') {
    ctx.book.pending.push({ kind: 'refusal', refusal: error });
    ctx.writeTarget(serialize.parse({ name: REFUSAL_STATEMENT_NAME, text: REFUSAL_STATEMENT }));
    ctx.book.skipUntilSync = true;
  } else {
    ctx.book.pending.push({ kind, refusal: error });
    ctx.writeTarget(serialize.query(REFUSAL_STATEMENT));
  }
}

/** The gateway's refusal as this proxy's ErrorResponse, and how the command is recorded. */
export function refusalOf(refusal: CommandRefusal): [PgClientError, 'refused' | 'cancelled'] {
  switch (refusal.code) {
    case 'PCL_ERR_BLOCKED': {
      const syntaxError = refusal.verdict?.syntaxError;
      if (syntaxError) {
        // PostgreSQL's parser rejects it too: answer as the target would, so SQLSTATE-driven code keeps working.
        return [
          new PgClientError(SqlState.syntaxError, syntaxError.message, {
            code: 'PCL_ERR_PG_SYNTAX',
            detail: "Portcullis refused this statement unparsed: PostgreSQL's parser cannot read it, so it was not sent to the database.",
            ...(syntaxError.position !== undefined ? { position: syntaxError.position } : {}),
          }),
          'refused',
        ];
      }
      return [new PgClientError(SqlState.insufficientPrivilege, `Portcullis blocked this statement: ${describeVerdict(refusal.verdict!)}`, { code: 'PCL_ERR_PG_BLOCKED' }), 'refused'];
    }
    case 'PCL_ERR_APPROVAL_DENIED':
      return [new PgClientError(SqlState.insufficientPrivilege, `Portcullis approval ${refusal.approvalId} was denied: ${describeVerdict(refusal.verdict!)}`, { code: 'PCL_ERR_PG_DENIED' }), 'refused'];
    case 'PCL_ERR_HOLD_UNRESOLVED':
      return [new PgClientError(SqlState.insufficientPrivilege, `Portcullis held this statement for approval ${refusal.approvalId} and it was not approved: ${refusal.detail}`, { code: 'PCL_ERR_PG_HOLD_UNRESOLVED' }), 'refused'];
    case 'PCL_ERR_CANCELLED':
      return [new PgClientError(SqlState.queryCanceled, 'canceling statement due to user request', { code: 'PCL_ERR_PG_CANCELLED' }), 'cancelled'];
    default:
      return [new PgClientError('58000', `Portcullis could not get a verdict for this statement, so it was not run: ${refusal.detail}`, { code: 'PCL_ERR_PG_NO_VERDICT' }), 'refused'];
  }
}
