/**
 * A Slack-compatible message (Block Kit) for an approval event, for a Slack
 * incoming webhook or any bot that renders Block Kit. The buttons carry
 * action ids and the approval id for an interactive Slack app, and link to
 * the approval in the API; the CLI commands are spelled out beside them.
 */
import type { ApprovalsTopicEvent } from '@portcullis/schemas';
import type { ApprovalState } from '../decider.ts';

interface Block {
  type: string;
  [field: string]: unknown;
}
export interface SlackMessage {
  text: string;
  blocks: Block[];
}

const mrkdwn = (text: string) => ({ type: 'mrkdwn', text });
/** Slack's mrkdwn treats these three as markup. */
const escape = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const code = (s: string): string => `\`\`\`${escape(s.length > 2500 ? `${s.slice(0, 2500)}…` : s).replace(/```/g, '`\u200b``')}\`\`\``;

export function slackMessage(event: ApprovalsTopicEvent, state: ApprovalState, apiUrl: string): SlackMessage {
  const id = event.approvalId;
  const link = `${apiUrl.replace(/\/$/, '')}/approvals/${id}`;
  const request = event.type === 'ApprovalRequested' ? event : state.status !== 'unknown' ? state.request : undefined;
  const who = request ? `${request.identity.name ?? request.identity.subject} (${request.identity.kind}, ${request.identity.subject})` : 'unknown';
  const resource = request ? `${request.resource.name} (${request.resource.kind}${request.resource.tags.length ? `; ${request.resource.tags.join(', ')}` : ''})` : 'unknown';

  if (event.type === 'ApprovalRequested') {
    const text = `Approval needed: ${who} wants to run a command on ${event.resource.name}`;
    return {
      text,
      blocks: [
        { type: 'header', text: { type: 'plain_text', text: `Approval needed: ${event.resource.name}`.slice(0, 150) } },
        { type: 'section', text: mrkdwn(code(event.commandText)) },
        {
          type: 'section',
          fields: [
            mrkdwn(`*Requested by*\n${escape(who)}`),
            mrkdwn(`*Resource*\n${escape(resource)}`),
            mrkdwn(`*Reason*\n${escape(event.reason ?? event.ruleId)}`),
            mrkdwn(`*Needs*\n${event.quorum} of ${escape(event.approverGroups.join(' or '))} before ${event.expiresAt}`),
          ],
        },
        {
          type: 'actions',
          block_id: `portcullis-approval-${id}`,
          elements: [
            { type: 'button', style: 'primary', action_id: 'portcullis_grant', value: id, text: { type: 'plain_text', text: 'Approve' }, url: `${link}#grant` },
            { type: 'button', style: 'danger', action_id: 'portcullis_deny', value: id, text: { type: 'plain_text', text: 'Deny' }, url: `${link}#deny` },
          ],
        },
        {
          type: 'context',
          elements: [
            mrkdwn(`CLI: \`portcullis approvals grant ${id}\` · \`portcullis approvals deny ${id} --comment "why"\` · API: POST ${escape(link)}/grant | /deny`),
          ],
        },
      ],
    };
  }

  const outcome = ((): string => {
    switch (event.type) {
      case 'ApprovalVoteRecorded':
        return `:ballot_box_with_check: ${escape(event.approver.subject)} voted for${event.comment ? `: ${escape(event.comment)}` : ''}`;
      case 'ApprovalGranted':
        return `:white_check_mark: Granted by ${escape(event.approvers.join(', '))}${event.comment ? `: ${escape(event.comment)}` : ''}`;
      case 'ApprovalDenied':
        return `:no_entry: Denied by ${escape(event.approver)}${event.comment ? `: ${escape(event.comment)}` : ''}`;
      case 'ApprovalExpired':
        return ':hourglass: Expired: nobody decided in time; the command was blocked';
      case 'ApprovalCancelled':
        return `:heavy_multiplication_x: Cancelled: ${escape(event.reason)}`;
      default: {
        const never: never = event;
        return String(never);
      }
    }
  })();
  const text = `${outcome.replace(/^:[a-z_]+: /, '')} (${request ? `${request.resource.name}: ${request.commandText.slice(0, 80)}` : id})`;
  return {
    text,
    blocks: [
      { type: 'section', text: mrkdwn(`${outcome}\n${request ? code(request.commandText) : ''}`) },
      { type: 'context', elements: [mrkdwn(`${escape(who)} on ${escape(resource)} · <${link}|approval ${id}>`)] },
    ],
  };
}
