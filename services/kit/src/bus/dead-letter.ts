import type { KafkaMessage, Message } from 'kafkajs';

/**
 * The record that carries an unhandled message to portcullis.dead-letter:
 * the original key and bytes, untouched, and where it came from and why in
 * headers. Every consumer dead-letters through this, so the headers are the
 * same everywhere (the audit and operators read them).
 */
export function deadLetterRecord(
  origin: { topic: string; partition: number; group: string },
  message: Pick<KafkaMessage, 'key' | 'value' | 'offset'>,
  reason: string,
  extraHeaders: Record<string, string> = {},
): Message {
  return {
    key: message.key,
    value: message.value,
    headers: {
      'portcullis-dlq-reason': reason.slice(0, 1000),
      'portcullis-dlq-topic': origin.topic,
      'portcullis-dlq-partition': String(origin.partition),
      'portcullis-dlq-offset': message.offset,
      'portcullis-dlq-group': origin.group,
      ...extraHeaders,
    },
  };
}
