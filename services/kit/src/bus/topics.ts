import type { Admin, ITopicConfig } from 'kafkajs';
import { DEAD_LETTER_TOPIC, topics } from '@portcullis/schemas';

export interface TopicSpec {
  name: string;
  partitions?: number;
  config: Record<string, string>;
}

/** The contract topics plus the dead-letter topic, with the settings each needs. */
export function contractTopicSpecs(partitions = 3): TopicSpec[] {
  return [
    ...Object.values(topics).map((t) => ({ name: t.name, partitions: t.partitions ?? partitions, config: t.config })),
    { name: DEAD_LETTER_TOPIC, partitions: 1, config: { 'retention.ms': '-1' } },
  ];
}

/**
 * Creates the topics that do not exist yet (existing ones are left as they
 * are) and waits for their leaders.
 */
export async function ensureTopics(admin: Admin, specs: TopicSpec[]): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  const missing: ITopicConfig[] = specs
    .filter((s) => !existing.has(s.name))
    .map((s) => ({
      topic: s.name,
      numPartitions: s.partitions ?? 3,
      replicationFactor: 1,
      configEntries: Object.entries(s.config).map(([name, value]) => ({ name, value })),
    }));
  if (missing.length > 0) {
    try {
      await admin.createTopics({ topics: missing, waitForLeaders: true });
    } catch (err) {
      // Another process may have created them between listTopics and createTopics.
      if ((err as { type?: string }).type !== 'TOPIC_ALREADY_EXISTS') throw err;
    }
  }
  return missing.map((m) => m.topic);
}
