// The approvals service: decider, workflow, API, webhooks.
export {
  decide,
  evolve,
  initialState,
  stampEvents,
  identityKey,
  APPROVAL_STATUSES,
  type ApprovalCommand,
  type ApprovalDecision,
  type ApprovalState,
  type ApprovalStatus,
  type KnownApproval,
} from './decider.ts';
export { startApprovalWorkflow, type ApprovalWorkflow } from './workflow.ts';
export { buildApp, type AppDeps } from './app.ts';
export { ApprovalView, viewOf } from './views.ts';
export { canSee, DEFAULT_AUDITOR_GROUP } from './visibility.ts';
export { startApprovalsService, DEFAULT_APPROVALS_PORT, type ApprovalsService, type ApprovalsServiceOptions } from './service.ts';
export { cancelApproval } from './cancel.ts';
export { signPayload, verifySignature, SIGNATURE_HEADER, IDEMPOTENCY_HEADER, EVENT_TYPE_HEADER, type SignatureCheck } from './webhooks/signature.ts';
export { slackMessage, type SlackMessage } from './webhooks/slack.ts';
export { WebhookEndpointConfig, DEFAULT_RETRY, resolveEndpoints, startWebhookDispatcher, type RetryPolicy, type WebhookDispatcher } from './webhooks/dispatcher.ts';
