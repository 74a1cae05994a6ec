// The policy decision point's pure core. The Kafka loop wraps these.
export { decide, toVerdictIssued, type Decision, type ApprovalRequirement } from './decide.ts';
export { evaluate, advanceSession, type Evaluation } from './evaluate.ts';
export { analyze, analyzeSql, analyzeSqlSync, advanceSqlSession, configureSqlParseCache, emptySqlSession, loadSqlParser, type SqlSessionState } from './analysis/index.ts';
export type * from './analysis/types.ts';
export {
  initialPolicyState,
  evolvePolicyState,
  withKnownResources,
  policyStateFromDocument,
  type PolicyState,
  type PolicyRejection,
} from './policy/state.ts';
export { parsePolicyDocument, parseYamlWith, formatPolicyError, PolicyDocumentSchema, type PolicyDocument, type PolicyRule, type PolicyError, type ParsedPolicy } from './policy/document.ts';
export { startPolicyDecisionService, PDP_GROUP, type PolicyDecisionService, type PolicyDecisionOptions } from './service.ts';
export { publishPolicy, type PublishResult } from './publish.ts';
export { analyzeHttp, encodeNormalizedPath, canonicalPathProblem, canonicalQueryProblem, classifyKubernetesRequest, normalizePath, HTTP_CLASSES, type HttpClass } from './analysis/http.ts';
export { analyzeShell } from './analysis/shell.ts';
export { verdictOf, approvalRequestOf } from './verdict-events.ts';
export * from './edge/index.ts';
export { playgroundCommand, type PlaygroundCommand } from './playground.ts';
export { createWhatIf, matchesFilter, type WhatIf, type WhatIfFilter, type CommandComparison, type DecisionSide } from './whatif/compare.ts';
export { parseTransitionList, failingTransitions, maskChange, type WhatIfReport, type Transition } from './whatif/report.ts';
export { readHistory } from './whatif/history.ts';
export { runWhatIf, type WhatIfRun } from './whatif/run.ts';
export { formatWhatIfReport } from './whatif/format.ts';
export { mcpToolListed } from './mcp-tools.ts';
export { matchesMcp } from './match.ts';
export { analyzeMcpToolCall, spellingsOf } from './analysis/mcp.ts';
export { reachableResources, type ReachableResource } from './reachable.ts';
