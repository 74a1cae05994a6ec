/**
 * The PDP's policy state, evolved from PolicySetPublished events
 * (portcullis.policies). One policy set per PDP; versions only move forward.
 */
import type { PolicySetPublished } from '@portcullis/schemas';
import { parsePolicyDocument, type PolicyError } from './document.ts';
import { compilePolicy, type CompiledPolicy } from './compile.ts';

export interface PolicyRejection {
  policySetId: string;
  version: number;
  errors: PolicyError[];
}

export interface PolicyState {
  /** 0 until a valid document is published. */
  version: number;
  policySetId?: string;
  documentDigest?: string;
  policy?: CompiledPolicy;
  /** When set, commands for resources not named here are blocked. */
  knownResources?: ReadonlySet<string>;
  /** The last publication that was not applied, and why; the running version stays in place. */
  rejected?: PolicyRejection;
}

export const initialPolicyState: PolicyState = { version: 0 };

export function withKnownResources(state: PolicyState, names: Iterable<string> | undefined): PolicyState {
  return { ...state, knownResources: names === undefined ? undefined : new Set(names) };
}

export function evolvePolicyState(state: PolicyState, event: PolicySetPublished): PolicyState {
  if (event.version === state.version && event.documentDigest === state.documentDigest) return state;
  if (event.version <= state.version) {
    return {
      ...state,
      rejected: {
        policySetId: event.policySetId,
        version: event.version,
        errors: [{ file: `${event.policySetId}@${event.version}`, line: 0, path: 'version', message: `version ${event.version} is not newer than the running version ${state.version}` }],
      },
    };
  }
  const parsed = parsePolicyDocument(event.document, `${event.policySetId}@${event.version}`);
  if (!parsed.ok) return { ...state, rejected: { policySetId: event.policySetId, version: event.version, errors: parsed.errors } };
  return {
    version: event.version,
    policySetId: event.policySetId,
    documentDigest: event.documentDigest,
    policy: compilePolicy(parsed.policy),
    knownResources: state.knownResources,
  };
}

/** A state straight from a document, for `portcullis policy eval|test` and tests. */
export function policyStateFromDocument(yamlText: string, fileName: string, version = 1): { ok: true; state: PolicyState } | { ok: false; errors: PolicyError[] } {
  const parsed = parsePolicyDocument(yamlText, fileName);
  if (!parsed.ok) return parsed;
  return { ok: true, state: { version, policySetId: fileName, policy: compilePolicy(parsed.policy) } };
}
