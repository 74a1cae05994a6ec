/** Policy documents the tests decide against. */

/** Reads allowed for services; every risky class blocked; PII masked. */
export const readOnlyAutomation = `
apiVersion: portcullis/v1
defaultEffect: block
rules:
  - id: read
    effect: allow
    reason: services may read
    match:
      identity: { kind: service }
      sql: { classes: [read, transaction, prepare] }
  - id: destructive
    effect: block
    reason: destructive
    match:
      identity: { kind: service }
      sql:
        classes: [unbounded-write, ddl, dcl, file-access, session-change, remote-execution, admin-function, non-literal-dynamic-sql, routine-call]
  - id: writes
    effect: hold
    reason: writes need a DBA
    match:
      identity: { kind: service }
      sql: { classes: [write] }
    approval: { approverGroups: [dba], quorum: 1, ttl: 10m }
  - id: pii
    effect: mask
    reason: no PII
    match:
      identity: { kind: service }
      protocol: postgres
    mask:
      columns:
        - customers.email
        - { column: customers.card_number, strategy: redact }
        - { column: public.customers.ssn, strategy: "null" }
      detectors: [email, card]
`;

/** Everything allowed by default, PII masked: isolates what masking reports. */
export const allowAllMasked = `
apiVersion: portcullis/v1
defaultEffect: allow
rules:
  - id: pii
    effect: mask
    reason: no PII
    match:
      protocol: postgres
    mask:
      columns:
        - customers.email
        - { column: customers.card_number, strategy: redact }
        - { column: public.customers.ssn, strategy: "null" }
      detectors: [email, card]
`;
