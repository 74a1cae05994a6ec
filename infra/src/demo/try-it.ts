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
  const conninfo = `"host=${HOST} port=${PROXY_PG_PORT} dbname=${DEMO_RESOURCES.database} user=llm-agent sslmode=require"`;
  const ssh = `ssh -F ${shown(demoClientFiles.sshConfig)} -p ${PROXY_SSH_PORT} ${DEMO_RESOURCES.host}@${HOST}`;
  const kubectl = `kubectl --kubeconfig ${shown(demoClientFiles.kubeconfig)} --token "$PORTCULLIS_TOKEN"`;
  return `
Portcullis is running. Try it as the demo LLM agent (a real token from the local OpenID provider):

  export PGPASSWORD="$(npx portcullis dev token llm-agent)"
  psql ${conninfo} \\
       -c "SELECT name, email, card_number FROM customers"        # personal data masked
  psql ${conninfo} \\
       -c "DROP TABLE customers"                                   # blocked by rule automation-no-destructive

The same agent on a host over SSH, on an HTTP API and on a Kubernetes cluster (the token is its
password for ssh, read through SSH_ASKPASS, and its bearer token for curl and kubectl):

  export PORTCULLIS_TOKEN="$(npx portcullis dev token llm-agent)" SSH_ASKPASS=${shown(demoClientFiles.askpass)} SSH_ASKPASS_REQUIRE=force
  ${ssh} uptime              # allowed by rule automation-ssh-inspect
  ${ssh} rm -rf /tmp/x       # blocked by rule ssh-destructive
  curl --cacert ${shown(join(demoClientFiles.httpsDir, 'cert.pem'))} -H "Authorization: Bearer $PORTCULLIS_TOKEN" \\
       https://${HOST}:${PROXY_HTTP_PORT}/r/${DEMO_RESOURCES.api}/v1/customers    # emails, phones and card numbers masked
  ${kubectl} get pods       # allowed
  ${kubectl} get secrets    # Forbidden: rule k8s-no-secrets-or-exec

A write to production is held until a DBA approves it:

  psql ${conninfo} \\
       -c "UPDATE orders SET status = 'refunded' WHERE id = 1"     # waits, printing the approval id
  PORTCULLIS_TOKEN="$(npx portcullis dev token alice)" npx portcullis approvals grant <approval-id>

What happened, as an auditor sees it (carol is in the auditors group):

  PORTCULLIS_TOKEN="$(npx portcullis dev token carol)" npx portcullis audit sessions                       # newest first
  PORTCULLIS_TOKEN="$(npx portcullis dev token carol)" npx portcullis replay <session-id>                  # commands and decisions
  PORTCULLIS_TOKEN="$(npx portcullis dev token carol)" npx portcullis replay <session-id> --cast ssh.cast   # an SSH session's terminal

Logs: ${shown(logDir)}/   Stop: Ctrl-C (the gateway and the demo targets), then npm run infra:down (the stack).`;
}
