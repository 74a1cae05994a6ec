export { createMcpService, type McpService, type McpServiceDeps } from './app.ts';
export { startMcpService, type RunningMcpService } from './service.ts';
export { parseMcpServiceConfig, loadMcpServiceConfig, type McpServiceConfig, type McpUpstreamResource } from './config.ts';
export { capText } from './result.ts';
export { toolDigest, canonicalJson } from './gateway/tool-digest.ts';
