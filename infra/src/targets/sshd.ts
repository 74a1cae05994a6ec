import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { portOpen, sleep } from '../processes.ts';

export interface Sshd {
  port: number;
  /** SHA256 fingerprint of the server's host key (what the gateway pins). */
  hostKeyFingerprint: string;
  /** Private key (OpenSSH format) that logs in as `user`: the gateway's credential for this host. */
  userKeyPath: string;
  /** The account the key logs in as: the user running this process (sshd can only switch users as root). */
  user: string;
  dir: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

const SSHD = '/usr/sbin/sshd';

export interface SshdOptions {
  /** Keys, config and pid file live here; keys already there are kept, so a restart keeps the host key. */
  dir: string;
  port: number;
  /** sshd's own messages (-e) are appended here; otherwise only kept for the error when it fails to start. */
  logFile?: string;
}

/**
 * A real OpenSSH server on a loopback port, as a foreground process with its
 * own config, host key, authorized_keys and pid file in `dir`. No system
 * service or file is touched (except /run/sshd, which OpenSSH's privilege
 * separation requires to exist when run as root; it is created empty if
 * missing). Used by the SSH proxy's tests (a temp dir) and by `npm start`'s
 * demo host (infra/.data/demo/sshd, so its host key survives restarts).
 */
export async function startSshd(options: SshdOptions): Promise<Sshd> {
  const { dir, port } = options;
  if (!existsSync(SSHD)) throw new Error(`${SSHD} is required but not installed: apt-get install openssh-server`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const keyFile = (name: string): string => {
    const file = join(dir, name);
    if (!existsSync(file)) execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `portcullis-${name}`, '-f', file], { stdio: 'ignore' });
    return file;
  };
  const hostKey = keyFile('host_ed25519');
  const userKey = keyFile('user_ed25519');
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(`${userKey}.pub`));
  const hostKeyFingerprint = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${hostKey}.pub`], { encoding: 'utf8' }).split(/\s+/)[1]!;
  const asRoot = process.getuid?.() === 0;
  if (asRoot && !existsSync('/run/sshd')) mkdirSync('/run/sshd', { mode: 0o755 });
  const config = [
    `Port ${port}`,
    'ListenAddress 127.0.0.1',
    `HostKey ${hostKey}`,
    `PidFile ${join(dir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
    'StrictModes no',
    'UsePAM no',
    'PermitRootLogin prohibit-password',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PubkeyAuthentication yes',
    'AllowTcpForwarding yes',
    'X11Forwarding no',
    'PrintMotd no',
    'PrintLastLog no',
    'Subsystem sftp internal-sftp',
    'LogLevel ERROR',
    '',
  ].join('\n');
  writeFileSync(join(dir, 'sshd_config'), config);
  // A port that already answers would make the readiness check below succeed against someone else's server.
  if (await portOpen(port)) throw new Error(`sshd: 127.0.0.1:${port} is already in use`);
  const child = spawn(SSHD, ['-D', '-e', '-f', join(dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4096);
    if (options.logFile) appendFileSync(options.logFile, d);
  });
  await waitForListen(port, child, () => stderr);
  return {
    port,
    hostKeyFingerprint,
    userKeyPath: userKey,
    user: userInfo().username,
    dir,
    process: child,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}

async function waitForListen(port: number, child: ChildProcess, stderr: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`sshd exited with ${child.exitCode}: ${stderr()}`);
    if (await portOpen(port)) return;
    if (Date.now() > deadline) throw new Error(`sshd did not listen on ${port}: ${stderr()}`);
    await sleep(50);
  }
}
