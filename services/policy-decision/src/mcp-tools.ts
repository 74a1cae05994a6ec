/**
 * Which upstream MCP tools a caller is shown (tools/list through the MCP
 * gateway). Listing is a convenience, not the guard — every call is judged
 * on its own — but a tool no call of this caller could ever run is hidden:
 * one that a block rule refuses whatever its arguments, or that no allow or
 * hold rule could admit while the default effect is block.
 */
import type { Identity, ResourceRef } from '@portcullis/schemas';
import type { CompiledRule } from './policy/compile.ts';
import type { PolicyState } from './policy/state.ts';
import { matchesContext } from './match.ts';

const onlyMcp = (r: CompiledRule): boolean => !r.sql && !r.shell && !r.http;

export function mcpToolListed(state: PolicyState, caller: { identity: Identity; resource: ResourceRef }, tool: string): boolean {
  const policy = state.policy;
  if (state.version === 0 || !policy) return false;
  if (state.knownResources && !state.knownResources.has(caller.resource.name)) return false;
  // The context part of a command: who, where, how (a tool call always comes via MCP).
  const context = { identity: caller.identity, resource: caller.resource, protocol: 'mcp', via: 'mcp' } as Parameters<typeof matchesContext>[1];
  const rules = policy.rules.filter((r) => onlyMcp(r) && matchesContext(r, context));
  const names = (r: CompiledRule): boolean => !r.mcp?.tools || r.mcp.tools(tool);
  const blockedWhatever = rules.some((r) => r.effect === 'block' && names(r) && !r.mcp?.arguments && !r.mcp?.classes);
  if (blockedWhatever) return false;
  const couldAdmit = rules.some((r) => (r.effect === 'allow' || r.effect === 'hold') && names(r) && !r.mcp?.classes);
  return couldAdmit || policy.defaultEffect !== 'block';
}
