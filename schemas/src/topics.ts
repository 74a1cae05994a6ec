import { z } from 'zod';
import { CommandsTopicEvent } from './commands.ts';
import { VerdictsTopicEvent } from './verdicts.ts';
import { SessionTopicEvent } from './session-events.ts';
import { ApprovalsTopicEvent } from './approvals.ts';
import { PoliciesTopicEvent } from './policies.ts';
import { RevocationsTopicEvent, revocationKeyOf } from './revocations.ts';
import { PresenceTopicEvent } from './presence.ts';

export interface TopicContract<S extends z.ZodType> {
  /** Kafka topic name. */
  name: string;
  /** One schema per topic: a union discriminated on `type`. */
  schema: S;
  /** Which field of the event is the record key (orders events per key). */
  keyOf: (event: z.infer<S>) => string;
  /** Topic configuration applied at creation. */
  config: Record<string, string>;
  /** State followed whole by every instance, in one order: one partition. Default: the bus's setting. */
  partitions?: number;
}

/** The audit log keeps everything forever. */
const keepForever = { 'retention.ms': '-1', 'retention.bytes': '-1' };

function topic<S extends z.ZodType>(contract: TopicContract<S>): TopicContract<S> {
  return contract;
}

export const topics = {
  commands: topic({
    name: 'portcullis.commands',
    schema: CommandsTopicEvent,
    keyOf: (e) => e.sessionId,
    config: keepForever,
  }),
  verdicts: topic({
    name: 'portcullis.verdicts',
    schema: VerdictsTopicEvent,
    keyOf: (e) => e.sessionId,
    config: keepForever,
  }),
  sessionEvents: topic({
    name: 'portcullis.session-events',
    schema: SessionTopicEvent,
    keyOf: (e) => e.sessionId,
    config: keepForever,
  }),
  approvals: topic({
    name: 'portcullis.approvals',
    schema: ApprovalsTopicEvent,
    keyOf: (e) => e.approvalId,
    config: keepForever,
  }),
  policies: topic({
    name: 'portcullis.policies',
    schema: PoliciesTopicEvent,
    keyOf: (e) => e.policySetId,
    config: { 'cleanup.policy': 'compact', 'min.compaction.lag.ms': '0' },
    partitions: 1,
  }),
  /** Revoked identities, groups and clients, and sessions ended by an admin; every proxy follows it whole. */
  revocations: topic({
    name: 'portcullis.revocations',
    schema: RevocationsTopicEvent,
    keyOf: revocationKeyOf,
    config: { 'cleanup.policy': 'compact', 'min.compaction.lag.ms': '0' },
    partitions: 1,
  }),
  /** Which sessions each proxy instance serves now (heartbeats, latest per instance). */
  presence: topic({
    name: 'portcullis.gateway-presence',
    schema: PresenceTopicEvent,
    keyOf: (e) => e.instance,
    config: { 'cleanup.policy': 'compact', 'min.compaction.lag.ms': '0' },
    partitions: 1,
  }),
} as const;

export type TopicKey = keyof typeof topics;
export type EventOf<K extends TopicKey> = z.infer<(typeof topics)[K]['schema']>;

/** Messages no consumer could handle land here with the reason in headers; raw bytes, no schema. */
export const DEAD_LETTER_TOPIC = 'portcullis.dead-letter';

/** Subject of a topic's value schema in the registry (TopicNameStrategy). */
export const subjectOf = (topicName: string): string => `${topicName}-value`;

/** JSON Schema (draft-07, what the registry's validator speaks) generated from the zod schema. */
export function jsonSchemaOf(schema: z.ZodType): Record<string, unknown> {
  return z.toJSONSchema(schema, { target: 'draft-7', io: 'output' }) as Record<string, unknown>;
}
