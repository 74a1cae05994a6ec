import { join } from 'node:path';
import { logDir } from '../paths.ts';
import { HOST, PROXY_HTTP_PORT, PROXY_PG_PORT, PROXY_SSH_PORT } from '../ports.ts';
import { demoClientFiles, shown } from './clients.ts';
import { DEMO_RESOURCES } from './config.ts';

/**
 * What `npm start` prints once everything runs: commands to paste, as the
 * demo LLM agent and then as the people around it. The README's quick start
 * shows the same lines and test/e2e/quick-start.int.test.ts runs them.
 */
export function tryItText(): string {
  const connect = `npx portcullis connect ${DEMO_RESOURCES.database} -- psql`;
  const gatewayCa = shown(join(demoClientFiles.httpsDir, 'cert.pem'));
  const ssh = `ssh -F ${shown(demoClientFiles.sshConfig)} -p ${PROXY_SSH_PORT} ${DEMO_RESOURCES.host}@${HOST}`;
  const kubectl = `kubectl --kubeconfig ${shown(demoClientFiles.kubeconfig)} --token "$PORTCULLIS_TOKEN"`;
  return `
Portcullis is running. Try it as the demo LLM agent: a job with a real token from the local OpenID
provider in PORTCULLIS_TOKEN; \`portcullis connect\` runs psql against a local listener that opens TLS
to the gateway (${HOST}:${PROXY_PG_PORT}, certificate ${gatewayCa}) with that token:

  export PORTCULLIS_TOKEN="$(npx portcullis dev token llm-agent)" PORTCULLIS_GATEWAY_CA=${gatewayCa}
  ${connect} -c "SELECT name, email, card_number FROM customers"    # personal data masked
  ${connect} -c "DROP TABLE customers"                              # blocked by rule automation-no-destructive

The same agent on a host over SSH, on an HTTP API and on a Kubernetes cluster (the token is its
password for ssh, read through SSH_ASKPASS, and its bearer token for curl and kubectl):

  export SSH_ASKPASS=${shown(demoClientFiles.askpass)} SSH_ASKPASS_REQUIRE=force
  ${ssh} uptime              # allowed by rule automation-ssh-inspect
  ${ssh} rm -rf /tmp/x       # blocked by rule ssh-destructive
  curl --cacert ${shown(join(demoClientFiles.httpsDir, 'cert.pem'))} -H "Authorization: Bearer $PORTCULLIS_TOKEN" \\
       https://${HOST}:${PROXY_HTTP_PORT}/r/${DEMO_RESOURCES.api}/v1/customers    # emails, phones and card numbers masked
  ${kubectl} get pods       # allowed
  ${kubectl} get secrets    # Forbidden: rule k8s-no-secrets-or-exec

A write to production is held until a DBA approves it:

  ${connect} -c "UPDATE orders SET status = 'refunded' WHERE id = 1"   # waits, printing the approval id
  PORTCULLIS_TOKEN="$(npx portcullis dev token alice)" npx portcullis approvals grant <approval-id>

As a person, without handling tokens: log in once (alice is a DBA; \`npx portcullis dev password alice\`
prints her password), then list what you may use and open a local listener for psql or any PostgreSQL client:

  unset PORTCULLIS_TOKEN               # a token in the environment takes precedence over a login
  npx portcullis login                 # a browser login; --device on a machine without a browser
  npx portcullis resources             # what the policy lets you connect to
  npx portcullis connect ${DEMO_RESOURCES.database.padEnd(12)} # prints a psql line and a connection string; Ctrl-C stops it

What happened, as an auditor sees it (carol is in the auditors group):

  PORTCULLIS_TOKEN="$(npx portcullis dev token carol)" npx portcullis audit sessions                       # newest first
  PORTCULLIS_TOKEN="$(npx portcullis dev token carol)" npx portcullis replay <session-id>                  # commands and decisions
  PORTCULLIS_TOKEN="$(npx portcullis dev token carol)" npx portcullis replay <session-id> --cast ssh.cast   # an SSH session's terminal

Logs: ${shown(logDir)}/   Stop: Ctrl-C (the gateway and the demo targets), then npm run infra:down (the stack).`;
}
