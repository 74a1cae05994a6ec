import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { z } from 'zod';
import { jsonSchemaOf, subjectOf, topics, type TopicKey } from '@portcullis/schemas';
import { PortcullisError } from '../errors.ts';

/**
 * Values travel in the Confluent wire format (magic byte 0, 4-byte schema id,
 * JSON) with JSON Schemas generated from the zod contracts, registered under
 * `<topic>-value` with BACKWARD compatibility. zod validates on both sides;
 * the registry's own validation runs on encode too.
 */
export interface EventCodec {
  /** Registers (idempotently) the schema of each topic and remembers its id. */
  ensureSchemas(keys?: TopicKey[]): Promise<Record<string, number>>;
  encode<K extends TopicKey>(key: K, event: unknown): Promise<Buffer>;
  /**
   * The hot path's encode: zod validates, the value is framed with the schema
   * id registered at connect (no registry call, no await). Throws
   * PCL_ERR_SCHEMA when the topic's schema was not registered yet.
   */
  encodeSync<K extends TopicKey>(key: K, event: unknown): Buffer;
  /** Decodes a wire-format value and validates it against the topic's zod schema. */
  decode<K extends TopicKey>(key: K, value: Buffer | null): Promise<z.infer<(typeof topics)[K]['schema']>>;
  registry: SchemaRegistry;
}

export const WIRE_MAGIC_BYTE = 0;

// Built once: a zod schema per call cost more than the validation itself (it showed at the top of the producers' profiles).
const uuidFormat = z.string().uuid();
const dateTimeFormat = z.string().datetime({ offset: true });
const emailFormat = z.string().email();
const jsonSchemaFormats = {
  uuid: (value: string): boolean => uuidFormat.safeParse(value).success,
  'date-time': (value: string): boolean => dateTimeFormat.safeParse(value).success,
  email: (value: string): boolean => emailFormat.safeParse(value).success,
};

export function createEventCodec({ registryUrl, topicName }: { registryUrl: string; topicName: (key: TopicKey) => string }): EventCodec {
  const registry = new SchemaRegistry(
    { host: registryUrl, retry: { retries: 2, initialRetryTimeInSecs: 0.1 } },
    // The registry client's validator (ajv) learns the string formats zod emits; zod stays the authority.
    { [SchemaType.JSON]: { strict: false, formats: jsonSchemaFormats } },
  );
  const ids = new Map<TopicKey, number>();
  /** Schema ids the registry confirmed exist (decode refuses ids it never issued). */
  const knownIds = new Set<number>();

  async function register(key: TopicKey): Promise<number> {
    const known = ids.get(key);
    if (known !== undefined) return known;
    const contract = topics[key];
    try {
      const { id } = await registry.register(
        { type: SchemaType.JSON, schema: JSON.stringify(jsonSchemaOf(contract.schema)) },
        { subject: subjectOf(topicName(key)) },
      );
      ids.set(key, id);
      return id;
    } catch (err) {
      throw new PortcullisError('PCL_ERR_SCHEMA', `registering the schema of ${topicName(key)} failed: ${(err as Error).message}`, { cause: err, retriable: true });
    }
  }

  return {
    registry,
    async ensureSchemas(keys = Object.keys(topics) as TopicKey[]) {
      const out: Record<string, number> = {};
      for (const key of keys) out[topicName(key)] = await register(key);
      return out;
    },
    async encode(key, event) {
      if (!ids.has(key)) await register(key);
      return this.encodeSync(key, event);
    },
    encodeSync(key, event) {
      const contract = topics[key];
      const id = ids.get(key);
      if (id === undefined) throw new PortcullisError('PCL_ERR_SCHEMA', `the schema of ${topicName(key)} is not registered yet`, { retriable: true });
      const parsed = contract.schema.safeParse(event);
      if (!parsed.success) {
        throw new PortcullisError('PCL_ERR_VALIDATION', `event for ${contract.name} is invalid: ${formatIssues(parsed.error)}`);
      }
      // The Confluent wire format, as the registry client writes it: magic byte, schema id, JSON.
      // zod is the authority on the contract; the registry's second (ajv) validation cost more than the rest of the publish.
      const json = Buffer.from(JSON.stringify(parsed.data), 'utf8');
      const value = Buffer.allocUnsafe(5 + json.length);
      value[0] = WIRE_MAGIC_BYTE;
      value.writeInt32BE(id, 1);
      json.copy(value, 5);
      return value;
    },
    async decode(key, value) {
      const contract = topics[key];
      if (!value || value.length < 5 || value[0] !== WIRE_MAGIC_BYTE) {
        throw new PortcullisError('PCL_ERR_DECODE', `message on ${contract.name} is not in the schema registry wire format`);
      }
      // zod is the authority on the payload, so the registry client's own (ajv) validation is not repeated here:
      // decode checks the schema id exists, parses the JSON and validates it once, with the topic's contract.
      const schemaId = value.readInt32BE(1);
      if (!knownIds.has(schemaId)) {
        try {
          await registry.getSchema(schemaId);
        } catch (err) {
          throw new PortcullisError('PCL_ERR_DECODE', `message on ${contract.name} could not be decoded: schema id ${schemaId}: ${(err as Error).message}`, { cause: err });
        }
        knownIds.add(schemaId);
      }
      let payload: unknown;
      try {
        payload = JSON.parse(value.toString('utf8', 5));
      } catch (err) {
        throw new PortcullisError('PCL_ERR_DECODE', `message on ${contract.name} could not be decoded: ${(err as Error).message}`, { cause: err });
      }
      const parsed = contract.schema.safeParse(payload);
      if (!parsed.success) {
        throw new PortcullisError('PCL_ERR_DECODE', `message on ${contract.name} fails validation: ${formatIssues(parsed.error)}`);
      }
      return parsed.data as never;
    },
  };
}

export function formatIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
    .join('; ');
}
