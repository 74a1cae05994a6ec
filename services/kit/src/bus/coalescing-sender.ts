import type { Message, Producer } from 'kafkajs';

interface Pending {
  topic: string;
  message: Message;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * Group commit for the idempotent producer (one request in flight, to keep
 * ordering). Messages queued in the same turn of the event loop — a command
 * and its verdict, or many sessions' commands — leave together in one
 * ProduceRequest at the end of the turn (setImmediate: no timer, so a lone
 * message pays microseconds, not a linger); messages queued while a request
 * is in flight ride together in the next one. Every message of a request is
 * resolved when the broker acknowledged the request (acks=all), or rejected
 * with its error.
 */
export function createCoalescingSender(producer: Producer, acks = -1): (topic: string, message: Message) => Promise<void> {
  let queue: Pending[] = [];
  let inFlight = false;
  let scheduled = false;

  async function flush(): Promise<void> {
    scheduled = false;
    inFlight = true;
    while (queue.length > 0) {
      const batch = queue;
      queue = [];
      const byTopic = new Map<string, Message[]>();
      for (const p of batch) {
        const list = byTopic.get(p.topic);
        if (list) list.push(p.message);
        else byTopic.set(p.topic, [p.message]);
      }
      try {
        await producer.sendBatch({ acks, topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) });
        for (const p of batch) p.resolve();
      } catch (err) {
        for (const p of batch) p.reject(err);
      }
    }
    inFlight = false;
  }

  return (topic, message) =>
    new Promise<void>((resolve, reject) => {
      queue.push({ topic, message, resolve, reject });
      if (!inFlight && !scheduled) {
        scheduled = true;
        setImmediate(() => void flush());
      }
    });
}
