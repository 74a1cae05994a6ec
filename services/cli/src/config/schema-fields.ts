/**
 * The fields of portcullis.yaml's JSON Schema as dotted paths, so the
 * reference (docs/configuration.md) can be checked against the schema:
 * `postgres.listen.port`, `resources[ssh].target.hostKeyFingerprint`,
 * `resources[http].credential.env` (a resource's fields are per protocol).
 */
export interface ConfigField {
  path: string;
  /** JSON Schema type(s), `object` for a choice between objects. */
  type: string;
  default?: unknown;
  required: boolean;
}

type Schema = {
  type?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  anyOf?: Schema[];
  oneOf?: Schema[];
  items?: Schema;
  default?: unknown;
  const?: unknown;
  enum?: unknown[];
};

export function configFields(schema: Schema): ConfigField[] {
  const out: ConfigField[] = [];
  const root = schema.properties ?? {};
  for (const [key, value] of Object.entries(root)) {
    if (key === 'resources') {
      for (const variant of value.items?.oneOf ?? value.items?.anyOf ?? []) {
        const protocol = String(variant.properties?.protocol?.const);
        walk(variant, `resources[${protocol}]`, out);
      }
    } else {
      walk(value, key, out);
    }
  }
  return out;
}

function walk(node: Schema, path: string, out: ConfigField[]): void {
  const props = node.properties ?? {};
  for (const [key, child] of Object.entries(props)) {
    const childPath = `${path}.${key}`;
    const required = node.required?.includes(key) ?? false;
    const branches = child.anyOf ?? child.oneOf;
    if (child.properties) {
      walk(child, childPath, out);
    } else if (branches) {
      const objects = branches.filter((b) => b.properties);
      const scalars = branches.filter((b) => !b.properties);
      if (scalars.length > 0) out.push(field(childPath, scalars.map(typeOf).join(' | '), child.default, required));
      // The object branches' fields, merged (a credential is { env } or { file }, each with `kind` for SSH).
      const merged: Schema = { properties: Object.assign({}, ...objects.map((o) => o.properties)) };
      walk(merged, childPath, out);
    } else {
      out.push(field(childPath, typeOf(child), child.default, required));
    }
  }
}

function field(path: string, type: string, defaultValue: unknown, required: boolean): ConfigField {
  return { path, type, required, ...(defaultValue === undefined ? {} : { default: defaultValue }) };
}

function typeOf(s: Schema): string {
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (s.enum) return s.enum.map((e) => JSON.stringify(e)).join(' | ');
  if (s.type === 'array') return `${typeOf(s.items ?? {})}[]`;
  return s.type ?? 'any';
}
