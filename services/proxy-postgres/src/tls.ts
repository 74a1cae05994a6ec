import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSecureContext, type SecureContext } from 'node:tls';

export interface CertificatePair {
  cert: string;
  key: string;
}

/**
 * A throw-away self-signed certificate for development (node:crypto cannot
 * sign X.509 certificates, so this uses the openssl command line). The key
 * lives only in memory; the temporary folder is removed at once.
 */
export function generateSelfSignedCertificate(commonName = 'localhost'): CertificatePair {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-tls-'));
  try {
    const result = spawnSync(
      'openssl',
      [
        'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '30',
        '-subj', `/CN=${commonName}`,
        '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1',
        '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
      ],
      { encoding: 'utf8' },
    );
    if (result.status !== 0) throw new Error(`openssl could not create a development certificate: ${result.stderr || result.error?.message}`);
    return { cert: readFileSync(join(dir, 'cert.pem'), 'utf8'), key: readFileSync(join(dir, 'key.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function serverSecureContext(pair: CertificatePair): SecureContext {
  return createSecureContext({ cert: pair.cert, key: pair.key, minVersion: 'TLSv1.2' });
}
