/** `portcullis replay SESSION_ID`: the session as psql would have shown it, with the gateway's decisions marked. */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { apiGet } from './audit.ts';

export function registerReplayCommand(program: Command): void {
  program.command('replay').description('print a session transcript the way psql showed it, decisions marked')
    .argument('<sessionId>')
    .option('--json', 'print the transcript as JSON')
    .option('--cast <file>', 'write the SSH terminal recording (asciicast v2) to a file')
    .action(async (id: string, o: { json?: boolean; cast?: string }) => {
      const path = `/sessions/${encodeURIComponent(id)}`;
      if (o.cast) {
        writeFileSync(o.cast, await (await apiGet(`${path}/replay.cast`, 'application/x-asciicast')).text());
        console.error(`wrote ${o.cast} (play with: asciinema play ${o.cast})`);
        return;
      }
      const res = await apiGet(`${path}/replay`, o.json ? 'application/json' : 'text/plain');
      process.stdout.write(await res.text());
    });
}
