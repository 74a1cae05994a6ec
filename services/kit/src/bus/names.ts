import { DEAD_LETTER_TOPIC, topics, type TopicKey } from '@portcullis/schemas';

/**
 * Topic names, optionally under a namespace prefix (`<ns>.portcullis.commands`).
 * Tests give every test its own namespace, so topics, registry subjects and
 * consumer groups never collide; production runs without one.
 */
export interface TopicNames {
  namespace: string | undefined;
  of(key: TopicKey): string;
  deadLetter: string;
  /** Reverse lookup from a topic name to its contract key. */
  keyOf(topicName: string): TopicKey | undefined;
  group(name: string): string;
}

export function topicNames(namespace?: string): TopicNames {
  const prefix = namespace ? `${namespace}.` : '';
  const byName = new Map<string, TopicKey>((Object.keys(topics) as TopicKey[]).map((k) => [`${prefix}${topics[k].name}`, k]));
  return {
    namespace,
    of: (key) => `${prefix}${topics[key].name}`,
    deadLetter: `${prefix}${DEAD_LETTER_TOPIC}`,
    keyOf: (name) => byName.get(name),
    group: (name) => `${prefix}${name}`,
  };
}
