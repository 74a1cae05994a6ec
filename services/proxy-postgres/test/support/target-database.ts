/** The shared test database (infra) typed as this proxy's resource. */
import { createTestDatabase, type TestDatabase } from '@portcullis/infra/targets';
import type { PostgresResource } from '../../src/config.ts';

export interface TestTarget extends Omit<TestDatabase, 'resource'> {
  resource: PostgresResource;
}

export async function createTestTarget(prefix: string, resourceName = `${prefix}-db`): Promise<TestTarget> {
  const database = await createTestDatabase(prefix, resourceName);
  const resource: PostgresResource = database.resource;
  return { ...database, resource };
}
