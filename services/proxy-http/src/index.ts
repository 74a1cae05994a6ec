export { createHttpProxy, type HttpProxyDeps } from './app.ts';
export { httpEngine, parseHttpProxyConfig, loadHttpProxyConfig, type HttpProxyConfig, type HttpResource, type KubernetesResource, type ProxiedResource } from './config.ts';
export { httpProxyErrors, HttpProxyError, type HttpProxyErrorCode } from './errors.ts';
export { maskJson, maskJsonInPlace, type JsonMaskPlan } from './json-masking.ts';
export type { CommandGate, SessionEventSink, IdentityVerifier } from './ports.ts';
// The MCP server's `http_request` tool builds, forwards and masks requests as this proxy does (services/mcp).
export { buildHttpCommand } from './command.ts';
export { upstreamUrl } from './routing.ts';
export { credentialHeaders, credentialHeaderNames } from './credentials.ts';
export { createAgent, isHopByHop } from './upstream.ts';
export { planFromMask } from './json-masking.ts';
export { maskJsonText, maskLine, maskModeFor } from './response-masking.ts';
export { verdictMessage } from './app.ts';
