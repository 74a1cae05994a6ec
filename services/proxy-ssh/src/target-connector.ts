import { connect } from 'node:net';
import ssh2 from 'ssh2';
import type { Client as SshClient } from 'ssh2';
import { readCredential, type SshResource } from './config.ts';
import { fingerprintOf } from './host-key.ts';
import { tuneRelaySocket } from './relay-socket.ts';

export class TargetConnectError extends Error {
  override readonly name = 'TargetConnectError';
}

/**
 * Opens the proxy's own SSH connection to the target with the gateway-held
 * credential, accepting the target only if its host key matches the
 * configured SHA256 fingerprint (RFC 4253 §8: the host key is checked before
 * any authentication data is sent).
 */
export function connectTarget(resource: SshResource, targetUser: string, options: { timeoutMs: number }): Promise<SshClient> {
  return new Promise((resolve, reject) => {
    let secret;
    try {
      secret = readCredential(resource);
    } catch (err) {
      return reject(new TargetConnectError((err as Error).message));
    }
    const client = new ssh2.Client();
    let presented: string | undefined;
    let settled = false;
    const fail = (message: string): void => {
      if (settled) return;
      settled = true;
      client.end();
      reject(new TargetConnectError(message));
    };
    client.once('ready', () => {
      settled = true;
      resolve(client);
    });
    client.on('error', (err: Error & { level?: string }) => {
      if (presented && presented !== resource.target.hostKeyFingerprint) {
        return fail(
          `the host key of ${resource.name} (${presented}) does not match the configured fingerprint ${resource.target.hostKeyFingerprint}; refusing to connect (possible man-in-the-middle or a re-installed host: update hostKeyFingerprint after checking)`,
        );
      }
      if (err.level === 'client-authentication') return fail(`the gateway's credential for ${resource.name} was refused by the target for user "${targetUser}"`);
      fail(`cannot reach ${resource.name}: ${err.message}`);
    });
    client.once('close', () => fail(`the connection to ${resource.name} closed during setup`));
    client.connect({
      // The proxy opens the TCP connection itself to tune it (relay-socket.ts); ssh2 reports its errors as usual.
      sock: tuneRelaySocket(connect({ host: resource.target.host, port: resource.target.port })),
      username: targetUser,
      readyTimeout: options.timeoutMs,
      keepaliveInterval: 30_000,
      hostVerifier: (key: Buffer) => {
        presented = fingerprintOf(key);
        return presented === resource.target.hostKeyFingerprint;
      },
      ...secret,
    });
  });
}
