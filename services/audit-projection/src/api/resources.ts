/**
 * GET /resources: what the caller may connect to (`portcullis resources`) —
 * the gateway's resources (portcullis.yaml) for which the policy in force has
 * an allow or hold rule taking in the caller's identity (reachableResources
 * in policy-decision). Any caller with a valid token may ask, about
 * themselves only; no target address or credential is ever part of the answer.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { PortcullisError } from '@portcullis/kit';
import { reachableResources, type PolicyState } from '@portcullis/policy-decision';
import { ResourceRef } from '@portcullis/schemas';
import { ErrorBody } from './schemas.ts';

export const ResourcesAnswer = z.object({
  policyVersion: z.number().int(),
  items: z.array(z.object({
    name: z.string(),
    kind: ResourceRef.shape.kind,
    tags: z.array(z.string()),
    rules: z.array(z.object({ id: z.string(), effect: z.enum(['allow', 'hold']), reason: z.string() })),
  })),
});

export function resourcesRoutes({ catalogue, policyState }: { catalogue: () => readonly ResourceRef[]; policyState: () => PolicyState }) {
  return (instance: FastifyInstance): void => {
    const app = instance.withTypeProvider<ZodTypeProvider>();
    app.get('/resources', {
      schema: {
        description: 'The resources the caller may connect to: those an allow or hold rule of the policy in force admits the caller to. Any authenticated caller.',
        response: { 200: ResourcesAnswer, 401: ErrorBody, 503: ErrorBody },
      },
    }, async (req) => {
      const state = policyState();
      // Fail closed: before a policy is known, nobody may connect to anything, and we do not pretend otherwise.
      if (!state.policy) throw new PortcullisError('PCL_ERR_POLICY_STALE', 'no policy is in force yet; try again in a moment');
      const items = reachableResources(state, req.caller!, catalogue()).map(({ resource, rules }) => ({ ...resource, rules }));
      return { policyVersion: state.version, items };
    });
  };
}
