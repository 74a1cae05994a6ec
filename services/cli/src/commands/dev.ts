import type { Command } from 'commander';
import { DEV_PEOPLE, DEV_SERVICE_ACCOUNTS, devPassword, issueHumanToken, issueServiceToken } from '@portcullis/infra';
import { describeError } from '@portcullis/kit';
import { commandGroup } from '../groups.ts';

/**
 * `portcullis dev token NAME`: a real access token from the local development
 * OpenID provider (infra/src/oidc), for a demo service account or person.
 * Printed on stdout only, so it can go straight into PGPASSWORD.
 */
export function registerDevCommands(program: Command): void {
  const dev = commandGroup(program, 'dev', 'helpers for the local development stack');
  dev
    .command('password')
    .description(`print a person's password for the local OpenID provider's browser login (the web console): ${DEV_PEOPLE.map((p) => p.username).join(', ')}`)
    .argument('<name>', 'person')
    .option('--issuer <url>', 'issuer of the local provider', process.env.PORTCULLIS_OIDC_ISSUER ?? 'http://127.0.0.1:9400')
    .action(async (name: string, options: { issuer: string }) => {
      if (!DEV_PEOPLE.some((p) => p.username === name)) {
        console.error(`unknown person "${name}": use one of ${DEV_PEOPLE.map((p) => p.username).join(', ')}`);
        process.exitCode = 2;
        return;
      }
      try {
        process.stdout.write(`${await devPassword(options.issuer, name)}\n`);
      } catch (err) {
        console.error(`no password: ${describeError(err)} (is the stack running? npm start)`);
        process.exitCode = 1;
      }
    });
  dev
    .command('token')
    .description(`print an access token from the local OpenID provider for a service account (${DEV_SERVICE_ACCOUNTS.map((s) => s.clientId).join(', ')}) or a person (${DEV_PEOPLE.map((p) => p.username).join(', ')})`)
    .argument('<name>', 'service account client id or person')
    .option('--issuer <url>', 'issuer of the local provider', process.env.PORTCULLIS_OIDC_ISSUER ?? 'http://127.0.0.1:9400')
    .action(async (name: string, options: { issuer: string }) => {
      try {
        const isService = DEV_SERVICE_ACCOUNTS.some((s) => s.clientId === name);
        const isPerson = DEV_PEOPLE.some((p) => p.username === name);
        if (!isService && !isPerson) {
          console.error(`unknown name "${name}": use one of ${[...DEV_SERVICE_ACCOUNTS.map((s) => s.clientId), ...DEV_PEOPLE.map((p) => p.username)].join(', ')}`);
          process.exitCode = 2;
          return;
        }
        process.stdout.write(`${isService ? await issueServiceToken(options.issuer, name) : await issueHumanToken(options.issuer, name)}\n`);
      } catch (err) {
        console.error(`no token: ${describeError(err)} (is the stack running? npm start)`);
        process.exitCode = 1;
      }
    });
}
