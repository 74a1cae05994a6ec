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
export function createCoalescingSender(producer: Pick<Producer, 'sendBatch'>, acks = -1): (topic: string, message: Message) => Promise<void> {
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

/**
 * An idempotent producer that is replaced after any failed send. kafkajs's
 * idempotent producer can lose track of its sequence numbers when a send
 * fails across a broker restart (OUT_OF_ORDER_SEQUENCE_NUMBER); the broker
 * then answers later batches as duplicates of ones it already has, and
 * kafkajs reports them written although they were not (seen in the Kafka
 * SIGKILL test). A new producer has a new producer id and fresh sequences,
 * so an acknowledgement again means the batch is in the log.
 */
export function createRenewingProducer(make: () => Producer): Pick<Producer, 'sendBatch'> & { disconnect(): Promise<void> } {
  let current = make();
  let connected = current.connect();
  connected.catch(() => undefined);
  const renew = (): void => {
    const old = current;
    current = make();
    connected = current.connect();
    connected.catch(() => undefined);
    void old.disconnect().catch(() => undefined);
  };
  return {
    async sendBatch(batch) {
      try {
        await connected;
      } catch {
        renew();
        await connected;
      }
      const producer = current;
      try {
        return await producer.sendBatch(batch);
      } catch (err) {
        if (producer === current) renew();
        throw err;
      }
    },
    disconnect: () => current.disconnect(),
  };
}
