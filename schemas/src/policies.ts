import { z } from 'zod';
import { envelope, Sha256Hex } from './envelope.ts';

export const PolicySetPublished = z.object({
  type: z.literal('PolicySetPublished'),
  ...envelope,
  policySetId: z.string().min(1),
  version: z.number().int().positive(),
  /** The YAML document exactly as published; the PDP validates it again on load. */
  document: z.string(),
  documentDigest: Sha256Hex,
  publishedBy: z.string().optional(),
});
export type PolicySetPublished = z.infer<typeof PolicySetPublished>;

export const PoliciesTopicEvent = z.discriminatedUnion('type', [PolicySetPublished]);
export type PoliciesTopicEvent = z.infer<typeof PoliciesTopicEvent>;
