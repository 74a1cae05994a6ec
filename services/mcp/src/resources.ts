import type { Protocol, ResourceRef } from '@portcullis/schemas';
import type { PostgresResource } from '@portcullis/proxy-postgres';
import type { SshResource } from '@portcullis/proxy-ssh';
import type { ProxiedResource } from '@portcullis/proxy-http';
import type { McpServiceConfig } from './config.ts';

/** A resource the MCP server's tools reach (upstream MCP servers are the gateway's). */
export type AnyResource = PostgresResource | SshResource | ProxiedResource;

export function allResources(config: McpServiceConfig): AnyResource[] {
  return [...config.postgres, ...config.ssh, ...config.http];
}

export function findResource(config: McpServiceConfig, name: string): AnyResource | undefined {
  return allResources(config).find((r) => r.name === name);
}

export function refOf(resource: AnyResource): ResourceRef {
  return { name: resource.name, kind: resource.protocol, tags: resource.tags };
}

export function protocolOf(resource: AnyResource): Protocol {
  return resource.protocol === 'kubernetes' ? 'http' : resource.protocol;
}
