/**
 * The whole portcullis.yaml schema: kit's shared document (resources of every
 * protocol, one section per engine) composed from each proxy's own part. The
 * one place that knows every engine; `portcullis config validate` checks a
 * file against it and `portcullis config schema` prints it as JSON Schema
 * (docs/portcullis.schema.json, which editors use to validate as you type).
 */
import { z } from 'zod';
import { portcullisDocumentSchema } from '@portcullis/kit';
import { postgresEngine } from '@portcullis/proxy-postgres';
import { sshEngine } from '@portcullis/proxy-ssh';
import { httpEngine } from '@portcullis/proxy-http';

export const ENGINES = [postgresEngine, sshEngine, httpEngine] as const;

export const PortcullisDocument = portcullisDocumentSchema(ENGINES);

/** JSON Schema (draft 2020-12) of what a file may contain (defaults are optional there). */
export function portcullisJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(PortcullisDocument, { io: 'input', unrepresentable: 'any' }),
    title: 'portcullis.yaml',
    description: 'Portcullis gateway configuration: resources of every protocol and one section per engine. See docs/configuration.md.',
  };
}
