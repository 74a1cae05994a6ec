/**
 * Given a mask rule protecting customers.email, card_number and ssn, when a
 * statement reaches them, then the verdict lists them and says whether they
 * are reached through anything but a plain column in the target list.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { givenPolicy, whenSql } from './given.ts';
import { allowAllMasked } from './policies.ts';

const policy = givenPolicy(allowAllMasked);

type Case = [sql: string, referenced: string[], derived: boolean];

const cases: Record<string, Case[]> = {
  'plain references': [
    ['SELECT id, email FROM customers', ['customers.email'], false],
    ['SELECT c.email, c.card_number FROM public.customers AS c', ['customers.email', 'customers.card_number'], false],
    ['SELECT public.customers.email FROM public.customers', ['customers.email'], false],
    ['SELECT id, name FROM customers', [], false],
    ['SELECT email FROM orders', [], false],
  ],
  'star and whole-row references': [
    ['SELECT * FROM customers', ['customers.email', 'customers.card_number', 'public.customers.ssn'], true],
    ['SELECT c.* FROM customers c', ['customers.email', 'customers.card_number', 'public.customers.ssn'], true],
    ['SELECT to_json(u) FROM customers u', ['customers.email', 'customers.card_number', 'public.customers.ssn'], true],
    ['SELECT row_to_json(customers) FROM customers', ['customers.email', 'customers.card_number', 'public.customers.ssn'], true],
    ['SELECT (c).email FROM customers c', ['customers.email', 'customers.card_number', 'public.customers.ssn'], true],
    ['COPY customers TO STDOUT', ['customers.email', 'customers.card_number', 'public.customers.ssn'], true],
  ],
  'expressions, casts, aggregates': [
    ['SELECT lower(email) FROM customers', ['customers.email'], true],
    ['SELECT email::text FROM customers', ['customers.email'], true],
    ["SELECT email || '' FROM customers", ['customers.email'], true],
    ['SELECT string_agg(card_number, \',\') FROM customers', ['customers.card_number'], true],
    ['SELECT CASE WHEN true THEN ssn END FROM customers', ['public.customers.ssn'], true],
    ['SELECT id FROM customers WHERE email LIKE \'a%\'', ['customers.email'], true],
    ['SELECT id FROM customers ORDER BY ssn', ['public.customers.ssn'], true],
  ],
  'subqueries, CTEs, set operations': [
    ['SELECT x FROM (SELECT email AS x FROM customers) s', ['customers.email'], true],
    ['SELECT (SELECT email FROM customers LIMIT 1)', ['customers.email'], true],
    ['WITH c AS (SELECT * FROM customers) SELECT email FROM c', ['customers.email', 'customers.card_number', 'public.customers.ssn'], true],
    ['SELECT email FROM customers UNION SELECT name FROM staff', ['customers.email'], true],
    ['SELECT id FROM orders WHERE customer_id IN (SELECT id FROM customers WHERE ssn IS NOT NULL)', ['public.customers.ssn'], true],
  ],
  'aliases and joins': [
    ['SELECT o.id, c.email FROM orders o JOIN customers c ON c.id = o.customer_id', ['customers.email'], false],
    ['SELECT email FROM orders o JOIN customers c ON c.id = o.customer_id', ['customers.email'], false],
    ['SELECT j.email FROM (customers c JOIN orders o USING (id)) AS j', ['customers.email'], false],
    ['SELECT x.email FROM customers AS x', ['customers.email'], false],
    ['WITH customers AS (SELECT 1 AS email) SELECT email FROM customers', [], false],
  ],
  'writes and functions that reach everything': [
    ['UPDATE customers SET name = name WHERE id = 1 RETURNING email', ['customers.email'], false],
    ['INSERT INTO archive SELECT email FROM customers', ['customers.email'], true],
    ['SELECT my_function(id) FROM orders', ['customers.email', 'customers.card_number', 'public.customers.ssn'], true],
    ["SELECT table_to_xml('customers', true, false, '')", ['customers.email', 'customers.card_number', 'public.customers.ssn'], true],
  ],
};

for (const [group, list] of Object.entries(cases)) {
  describe(`masking: ${group}`, () => {
    for (const [text, referenced, derived] of list) {
      it(`${text} → [${referenced.join(', ')}]${derived ? ' derived' : ''}`, async () => {
        const { decision } = await whenSql(policy, text);
        assert.ok(decision.mask, `no mask in ${JSON.stringify(decision)}`);
        assert.deepEqual(decision.mask.referenced.map((c) => `${c.table}.${c.column}`).sort(), [...referenced].sort());
        if (referenced.length) assert.equal(decision.mask.derived, derived);
      });
    }
  });
}

describe('masking: the verdict carries the protected columns and detectors of every mask rule', () => {
  it('lists strategies and detectors', async () => {
    const { decision } = await whenSql(policy, 'SELECT email FROM customers');
    assert.deepEqual(decision.mask?.columns, [
      { table: 'customers', column: 'email', strategy: 'partial' },
      { table: 'customers', column: 'card_number', strategy: 'redact' },
      { table: 'public.customers', column: 'ssn', strategy: 'null' },
    ]);
    assert.deepEqual(decision.mask?.detectors, ['email', 'card']);
    assert.deepEqual(decision.ruleIds, ['pii']);
    assert.equal(decision.effect, 'mask');
  });
  it('a schema that differs from the protected one is not the protected table', async () => {
    const { decision } = await whenSql(policy, 'SELECT ssn FROM audit.customers');
    assert.deepEqual(decision.mask?.referenced, []);
  });
});
