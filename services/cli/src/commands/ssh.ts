/**
 * SSH through the gateway with the cached login:
 *
 *   portcullis ssh <resource> [command …]   runs ssh to the resource and exits with its status
 *   portcullis ssh config                   prints a `Host portcullis` block for ~/.ssh/config, so plain
 *                                           `ssh demo-host@portcullis`, scp and rsync work
 *   portcullis ssh proxy <host> <port>      the ProxyCommand both use: renews the key registration
 *                                           with the current token, then relays the connection
 *
 *   PORTCULLIS_SSH_GATEWAY      the SSH proxy (default 127.0.0.1:2222)
 *   PORTCULLIS_SSH_KEYS_URL     its key API (default http://127.0.0.1:2280)
 *   PORTCULLIS_SSH_KNOWN_HOSTS  a known_hosts file pinning the gateway's host key (else ssh's own)
 */
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { PortcullisError } from '@portcullis/kit';
import { resolveIssuer } from '../auth/settings.ts';
import { tokenSource } from '../auth/token-source.ts';
import { ensureSshKey } from '../ssh/client-key.ts';
import { registerSshKey } from '../ssh/register-key.ts';
import { failsCleanly } from '../failure.ts';

const BIN = fileURLToPath(new URL('../../bin/portcullis.js', import.meta.url));
export const SSH_HOST_ALIAS = 'portcullis';

interface SshOptions {
  gateway: string;
  keysUrl: string;
  knownHosts?: string;
  issuer?: string;
}

const quote = (s: string): string => (/^[\w@%+=:,./-]+$/.test(s) ? s : `"${s.replace(/(["\\$`])/g, '\\$1')}"`);

function splitAddress(address: string): { host: string; port: number } {
  const at = address.lastIndexOf(':');
  const port = Number(address.slice(at + 1));
  if (at <= 0 || !Number.isInteger(port) || port < 1 || port > 65535) throw new PortcullisError('PCL_ERR_CONFIG', `the SSH gateway address must be host:port, got "${address}"`);
  return { host: address.slice(0, at), port };
}

/** The ssh options that route through the gateway: the ProxyCommand, the CLI's key and nothing else. */
export function sshOptions(o: SshOptions, privateKeyPath: string): string[] {
  const { host, port } = splitAddress(o.gateway);
  const proxy = [process.execPath, BIN, 'ssh', 'proxy', '--keys-url', o.keysUrl, ...(o.issuer ? ['--issuer', o.issuer] : []), '%h', '%p'].map(quote).join(' ');
  return [
    `HostName ${host}`,
    `Port ${port}`,
    `ProxyCommand ${proxy}`,
    `IdentityFile ${quote(privateKeyPath)}`,
    'IdentitiesOnly yes',
    'PreferredAuthentications publickey',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    ...(o.knownHosts ? [`UserKnownHostsFile ${quote(o.knownHosts)}`, 'StrictHostKeyChecking yes'] : []),
  ];
}

export function registerSshCommands(program: Command): void {
  const common = (c: Command): Command => c
    .option('--gateway <host:port>', 'the gateway\'s SSH address', process.env.PORTCULLIS_SSH_GATEWAY || '127.0.0.1:2222')
    .option('--keys-url <url>', 'the SSH gateway\'s key API', process.env.PORTCULLIS_SSH_KEYS_URL || 'http://127.0.0.1:2280')
    .option('--known-hosts <file>', 'known_hosts pinning the gateway\'s host key', process.env.PORTCULLIS_SSH_KNOWN_HOSTS)
    .option('--issuer <url>', 'the OpenID provider');

  const ssh = common(program.command('ssh'))
    .description('ssh to a resource through the gateway with the cached login; `ssh config` prints an ssh_config block for ssh, scp and rsync')
    .argument('<resource>', 'the SSH resource, or [user@]resource')
    .argument('[command...]', 'the remote command (after --)')
    .action(failsCleanly(async (resource: string, command: string[], o: SshOptions) => {
      const { privateKeyPath } = ensureSshKey();
      // Fails now with a clear reason rather than as an ssh "Permission denied".
      await tokenSource(resolveIssuer(o.issuer)).token();
      const args = sshOptions(o, privateKeyPath).flatMap((line) => {
        const at = line.indexOf(' ');
        return ['-o', `${line.slice(0, at)}=${line.slice(at + 1)}`];
      });
      const child = spawn('ssh', [...args, `${resource}@${SSH_HOST_ALIAS}`, ...command], { stdio: 'inherit' });
      const ignore = (): void => undefined;
      process.on('SIGINT', ignore);
      process.exitCode = await new Promise<number>((resolve) => {
        child.once('error', (err) => {
          console.error(`portcullis: cannot run ssh: ${err.message}`);
          resolve(127);
        });
        child.once('exit', (code) => resolve(code ?? 255));
      });
      process.off('SIGINT', ignore);
    }));

  common(ssh.command('config'))
    .description('print a "Host portcullis" block for ~/.ssh/config: then ssh/scp/rsync RESOURCE@portcullis work through the gateway')
    .action(failsCleanly(async (o: SshOptions) => {
      const { privateKeyPath } = ensureSshKey();
      console.log([
        '# Portcullis gateway (portcullis ssh config): ssh RESOURCE@portcullis, ssh USER@RESOURCE@portcullis, scp -O, rsync',
        `Host ${SSH_HOST_ALIAS}`,
        ...sshOptions(o, privateKeyPath).map((l) => `  ${l}`),
      ].join('\n'));
    }));

  ssh.command('proxy')
    .description('ssh ProxyCommand: renew the key registration with the current token, then relay stdin/stdout to the gateway')
    .argument('<host>').argument('<port>')
    .option('--keys-url <url>', 'the SSH gateway\'s key API', process.env.PORTCULLIS_SSH_KEYS_URL || 'http://127.0.0.1:2280')
    .option('--issuer <url>', 'the OpenID provider')
    .action(failsCleanly(async (host: string, port: string, o: { keysUrl: string; issuer?: string }) => {
      const { publicKey } = ensureSshKey();
      const { accessToken } = await tokenSource(resolveIssuer(o.issuer)).token();
      await registerSshKey(o.keysUrl, accessToken, publicKey);
      const socket = connect({ host, port: Number(port) });
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('error', (err) => reject(new PortcullisError('PCL_ERR_GATEWAY_UNREACHABLE', `cannot reach the SSH gateway at ${host}:${port}: ${err.message}`)));
      });
      process.stdin.pipe(socket);
      socket.pipe(process.stdout);
      await new Promise<void>((resolve) => socket.once('close', () => resolve()));
      process.stdin.destroy();
    }));
}
