import type { Message, Producer } from 'kafkajs';

interface Pending {
  topic: string;
  message: Message;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * Sends each message at once when the producer is idle; messages published
 * while a request is in flight ride together in the next one (one
 * ProduceRequest for many topics/messages). No linger timer, so a lone
 * message pays no extra latency, and under load the idempotent producer
 * (one request in flight, to keep ordering) is not the bottleneck.
 */
export function createCoalescingSender(producer: Producer, acks = -1): (topic: string, message: Message) => Promise<void> {
  let queue: Pending[] = [];
  let inFlight = false;

  async function flush(): Promise<void> {
    inFlight = true;
    while (queue.length > 0) {
      const batch = queue;
      queue = [];
      const byTopic = new Map<string, Message[]>();
      for (const p of batch) {
        const list = byTopic.get(p.topic) ?? [];
        list.push(p.message);
        byTopic.set(p.topic, list);
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
      if (!inFlight) void flush();
    });
}
