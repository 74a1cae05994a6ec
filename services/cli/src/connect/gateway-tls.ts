/**
 * The connection from `portcullis connect` to the PostgreSQL gateway: TCP,
 * SSLRequest, then TLS that verifies the gateway's certificate (the system's
 * CAs, or the CA in PORTCULLIS_GATEWAY_CA / --gateway-ca). The access token
 * is only ever written inside that TLS session, so a process that answers on
 * the gateway's address without its certificate never sees one.
 */
import { connect as tcpConnect, isIP, type Socket } from 'node:net';
import { checkServerIdentity, connect as tlsConnect, type TLSSocket } from 'node:tls';
import { PortcullisError } from '@portcullis/kit';
import { encodeSslRequest } from '@portcullis/proxy-postgres/wire';

export interface PgGatewayAddress {
  host: string;
  port: number;
  /** PEM CA bundle the gateway's certificate must chain to; the system's CAs when absent. */
  ca?: Buffer;
}

const CONNECT_TIMEOUT_MS = 10_000;

export const describeGateway = (g: PgGatewayAddress): string => `${g.host}:${g.port}`;

export async function openGatewayTls(gateway: PgGatewayAddress): Promise<TLSSocket> {
  const unreachable = (why: string, cause?: unknown) =>
    new PortcullisError('PCL_ERR_GATEWAY_UNREACHABLE', `cannot reach the PostgreSQL gateway at ${describeGateway(gateway)}: ${why}`, { cause });
  const tcp: Socket = await new Promise((resolve, reject) => {
    const s = tcpConnect({ host: gateway.host, port: gateway.port, timeout: CONNECT_TIMEOUT_MS });
    s.once('connect', () => {
      s.setTimeout(0);
      resolve(s);
    });
    s.once('timeout', () => {
      s.destroy();
      reject(unreachable(`no answer within ${CONNECT_TIMEOUT_MS / 1000} s`));
    });
    s.once('error', (err) => reject(unreachable(err.message, err)));
  });
  const answer: Buffer = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(unreachable('no answer to the TLS request')), CONNECT_TIMEOUT_MS);
    tcp.once('data', (d: Buffer) => {
      clearTimeout(timer);
      resolve(d);
    });
    tcp.once('error', (err) => reject(unreachable(err.message, err)));
    tcp.once('close', () => reject(unreachable('the gateway closed the connection')));
    tcp.write(encodeSslRequest());
  }).finally(() => tcp.removeAllListeners('close')) as Buffer;
  // Exactly one byte: anything after the 'S' would be read as if it came through TLS.
  if (answer.length !== 1 || answer[0] !== 0x53 /* S */) {
    tcp.destroy();
    throw unreachable('it does not offer TLS (is this a Portcullis gateway?)');
  }
  return new Promise((resolve, reject) => {
    const tls = tlsConnect({
      socket: tcp,
      ca: gateway.ca,
      // SNI takes names only; the certificate is checked against the address or name we dialled either way.
      servername: isIP(gateway.host) ? undefined : gateway.host,
      checkServerIdentity: (_name, cert) => checkServerIdentity(gateway.host, cert),
      minVersion: 'TLSv1.2',
    });
    tls.once('secureConnect', () => {
      tls.removeAllListeners('error');
      resolve(tls);
    });
    tls.once('error', (err) => {
      tcp.destroy();
      reject(unreachable(`TLS failed: ${err.message} (the gateway's CA: --gateway-ca or PORTCULLIS_GATEWAY_CA)`, err));
    });
  });
}
