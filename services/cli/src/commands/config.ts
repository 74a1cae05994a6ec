/**
 * portcullis config validate <portcullis.yaml>...   every error as file:line: field: message (exit 1)
 * portcullis config schema                          the JSON Schema of portcullis.yaml
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { formatPolicyError, parseYamlWith } from '@portcullis/policy-decision';
import { commandGroup } from '../groups.ts';
import { PortcullisDocument, portcullisJsonSchema } from '../config/portcullis-schema.ts';

export function registerConfigCommands(program: Command): void {
  const config = commandGroup(program, 'config', 'validate portcullis.yaml and print its schema');
  config
    .command('validate')
    .description('check portcullis.yaml files against the schema every engine reads (errors with file and line)')
    .argument('<files...>', 'portcullis.yaml files')
    .action((files: string[]) => {
      process.exitCode = files.map(validateConfigFile).every(Boolean) ? 0 : 1;
    });
  config
    .command('schema')
    .description('print the JSON Schema of portcullis.yaml (docs/portcullis.schema.json)')
    .action(() => {
      console.log(JSON.stringify(portcullisJsonSchema(), null, 2));
    });
}

/** Prints `<file>: ok (N resources)` or each error; true when valid. */
export function validateConfigFile(file: string): boolean {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    console.error(`${file}: cannot read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    return false;
  }
  const parsed = parseYamlWith(PortcullisDocument, text, file);
  if (!parsed.ok) {
    for (const e of parsed.errors) console.error(formatPolicyError(e));
    return false;
  }
  const resources = parsed.value.resources as { protocol: string }[];
  const protocols = [...new Set(resources.map((r) => r.protocol))].join(', ');
  console.log(`${file}: ok (${resources.length} resource${resources.length === 1 ? '' : 's'}: ${protocols})`);
  return true;
}
