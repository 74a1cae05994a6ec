import type { Command } from './commands.ts';

/**
 * The text a person recognises a command by: the SQL, the shell command line,
 * or the HTTP request line. One definition for every reader of the log (the
 * PDP's approval requests, the audit's `commands.text`, replay transcripts).
 */
export function commandText(command: Command): string {
  switch (command.kind) {
    case 'sql':
      return command.text;
    case 'shell':
      return command.commandLine;
    case 'http': {
      // Approvers must see who the request would act as, not only what it asks.
      const acting = Object.entries(command.headers).filter(([name]) => name.toLowerCase().startsWith('impersonate-'));
      return [`${command.method} ${command.path}${command.query ? `?${command.query}` : ''}`, ...acting.map(([name, value]) => `${name}: ${value}`)].join('\n');
    }
    case 'mcp-tool':
      return `${command.tool} ${command.arguments}`;
    default: {
      const never: never = command;
      throw new TypeError(`unknown command kind ${JSON.stringify((never as { kind?: unknown }).kind)}`);
    }
  }
}
