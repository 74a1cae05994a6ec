/** What the console shows of the policy in force: the document's rules as published, and the last refused publication. */
import { formatPolicyError, type PolicyState } from '@portcullis/policy-decision';

export function policyView(state: PolicyState) {
  const doc = state.policy?.document;
  return {
    version: state.version,
    policySetId: state.policySetId ?? null,
    documentDigest: state.documentDigest ?? null,
    defaultEffect: doc?.defaultEffect ?? null,
    defaultApproval: (doc?.defaultApproval as Record<string, unknown> | undefined) ?? null,
    rules: (doc?.rules ?? []).map((rule) => {
      const { id, description, effect, match, ...rest } = rule;
      return { id, description: description ?? null, effect, match: match as Record<string, unknown>, rule: rest as Record<string, unknown> };
    }),
    rejected: state.rejected ? { version: state.rejected.version, errors: state.rejected.errors.map(formatPolicyError) } : null,
  };
}
