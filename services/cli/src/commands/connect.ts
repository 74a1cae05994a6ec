/**
 * `portcullis connect <resource> [--port N] [-- command …]`: a local plain
 * PostgreSQL listener for one resource (connect/pg-listener.ts). Without a
 * command it prints the psql line and a libpq connection string and runs
 * until Ctrl-C; with one it runs it against the listener (PGHOST, PGPORT,
 * PGDATABASE, PGUSER, PGSSLMODE set) and exits with its status.
 *
 *   PORTCULLIS_PG_GATEWAY   the gateway's PostgreSQL address (default 127.0.0.1:6432)
 *   PORTCULLIS_GATEWAY_CA   PEM file of the CA the gateway's certificate chains to
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { PortcullisError } from '@portcullis/kit';
import { readClaims } from '../auth/jwt-claims.ts';
import { resolveIssuer } from '../auth/settings.ts';
import { tokenSource } from '../auth/token-source.ts';
import { startPgListener } from '../connect/pg-listener.ts';
import type { PgGatewayAddress } from '../connect/gateway-tls.ts';
import { failsCleanly } from '../failure.ts';

export const DEFAULT_PG_GATEWAY = '127.0.0.1:6432';

export function pgGatewayAddress(address: string, caFile: string | undefined): PgGatewayAddress {
  const at = address.lastIndexOf(':');
  const host = (at > 0 ? address.slice(0, at) : address).replace(/^\[(.*)\]$/, '$1');
  const port = at > 0 ? Number(address.slice(at + 1)) : 6432;
  if (!host || !Number.isInteger(port) || port < 1 || port > 65535) throw new PortcullisError('PCL_ERR_CONFIG', `the gateway address must be host:port, got "${address}"`);
  let ca: Buffer | undefined;
  if (caFile) {
    try {
      ca = readFileSync(caFile);
    } catch (err) {
      throw new PortcullisError('PCL_ERR_CONFIG', `cannot read the gateway CA ${caFile}: ${(err as Error).message}`);
    }
  }
  return { host, port, ca };
}

/** What `connect` prints: a psql line and a libpq URI for the local listener. */
export function connectionLines(resource: string, port: number, user: string): { psql: string; uri: string } {
  const conninfo = `host=127.0.0.1 port=${port} dbname=${resource} user=${user} sslmode=disable`;
  return {
    psql: `psql "${conninfo}"`,
    uri: `postgresql://${encodeURIComponent(user)}@127.0.0.1:${port}/${encodeURIComponent(resource)}?sslmode=disable`,
  };
}

interface ConnectOptions {
  port: string;
  gateway: string;
  gatewayCa?: string;
  issuer?: string;
}

export function registerConnectCommand(program: Command): void {
  program
    .command('connect')
    .description('a local PostgreSQL listener for a resource: plain PostgreSQL on 127.0.0.1, TLS and a fresh token to the gateway per connection')
    .argument('<resource>', 'the PostgreSQL resource (portcullis resources lists them)')
    .argument('[command...]', 'after --: a client to run against the listener; portcullis exits with its status')
    .option('--port <n>', 'local port (default: any free port)', '0')
    .option('--gateway <host:port>', 'the gateway\'s PostgreSQL address', process.env.PORTCULLIS_PG_GATEWAY || DEFAULT_PG_GATEWAY)
    .option('--gateway-ca <file>', 'PEM CA of the gateway\'s certificate (default: PORTCULLIS_GATEWAY_CA, else the system\'s CAs)', process.env.PORTCULLIS_GATEWAY_CA)
    .option('--issuer <url>', 'the OpenID provider')
    .action(failsCleanly(async (resource: string, command: string[], options: ConnectOptions) => {
      // Options of the client come after `--`, where commander stops reading options.
      const port = Number(options.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new PortcullisError('PCL_ERR_CONFIG', `--port must be a port number, got "${options.port}"`);
      const gateway = pgGatewayAddress(options.gateway, options.gatewayCa);
      const tokens = tokenSource(resolveIssuer(options.issuer));
      // Fails now, with the reason, rather than at the client's first connection.
      const claims = readClaims((await tokens.token()).accessToken);
      const user = claims?.preferred_username ?? claims?.sub ?? 'portcullis';
      const listener = await startPgListener({
        resource,
        gateway,
        tokens,
        port,
        onRefused: (message) => console.error(`portcullis: a connection to ${resource} was refused: ${message}`),
      });
      const lines = connectionLines(resource, listener.port, user);
      const say = command.length > 0 ? console.error : console.log;
      say(`Listening on 127.0.0.1:${listener.port} for ${resource} (gateway ${gateway.host}:${gateway.port}, as ${user}).`);
      say(`  ${lines.psql}`);
      say(`  ${lines.uri}`);

      if (command.length === 0) {
        say('Ctrl-C stops the listener.');
        await new Promise<void>((resolve) => {
          process.once('SIGINT', resolve);
          process.once('SIGTERM', resolve);
        });
        await listener.close();
        return;
      }
      const [file, ...args] = command;
      const child = spawn(file!, args, {
        stdio: 'inherit',
        env: { ...process.env, PGHOST: '127.0.0.1', PGPORT: String(listener.port), PGDATABASE: resource, PGUSER: user, PGSSLMODE: 'disable' },
      });
      // Ctrl-C reaches the client through the terminal; the listener stays until the client exits.
      const ignore = (): void => undefined;
      process.on('SIGINT', ignore);
      const status: number = await new Promise((resolve) => {
        child.once('error', (err) => {
          console.error(`portcullis: cannot run ${file}: ${err.message}`);
          resolve(127);
        });
        child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 + 2 : 1)));
      });
      process.off('SIGINT', ignore);
      await listener.close();
      process.exitCode = status;
    }));
}
