import { createHash } from 'node:crypto';
import { newId, nowIso, type PolicySetPublished } from '@portcullis/schemas';
import { followTopic, type Bus } from '@portcullis/kit';
import { parsePolicyDocument, type PolicyError } from './policy/document.ts';

export type PublishResult = { ok: true; version: number; event: PolicySetPublished } | { ok: false; errors: PolicyError[] };

/**
 * Validates a policy document and publishes it as the next version of its
 * policy set on the compacted portcullis.policies topic. An invalid document
 * is refused here with its errors (and the PDP would refuse it again).
 */
export async function publishPolicy({ bus, yamlText, fileName, policySetId = 'default', publishedBy }: {
  bus: Bus;
  yamlText: string;
  fileName: string;
  policySetId?: string;
  publishedBy?: string;
}): Promise<PublishResult> {
  const parsed = parsePolicyDocument(yamlText, fileName);
  if (!parsed.ok) return { ok: false, errors: parsed.errors };
  let current = 0;
  const follower = await followTopic(bus, 'policies', (e) => {
    if (e.policySetId === policySetId) current = Math.max(current, e.version);
  }, { name: 'policy-publish' });
  try {
    await follower.caughtUp;
  } finally {
    await follower.stop();
  }
  const event: PolicySetPublished = {
    type: 'PolicySetPublished',
    eventId: newId(),
    occurredAt: nowIso(),
    sessionId: `policy-publish-${newId()}`,
    policySetId,
    version: current + 1,
    document: yamlText,
    documentDigest: createHash('sha256').update(yamlText).digest('hex'),
    ...(publishedBy ? { publishedBy } : {}),
  };
  await bus.publish('policies', event);
  return { ok: true, version: event.version, event };
}
