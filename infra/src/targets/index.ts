/**
 * Real targets on loopback for tests and the `npm start` demo: an OpenSSH
 * server, a Kubernetes API double, a self-signed certificate, a PostgreSQL
 * role and schema of a test's own. A separate entry point so importing
 * @portcullis/infra does not load fastify.
 */
export { startSshd, type Sshd, type SshdOptions } from './sshd.ts';
export { startKubernetesDouble, type KubernetesDouble, type KubernetesDoubleOptions, type Seen } from './kubernetes-double.ts';
export { selfSignedCertificate, type CertificateFiles } from './tls.ts';
export { createTestDatabase, type TestDatabase, type TestDatabaseResource } from './test-database.ts';
