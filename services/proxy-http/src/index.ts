export { createHttpProxy, type HttpProxyDeps } from './app.ts';
export { httpEngine, parseHttpProxyConfig, loadHttpProxyConfig, type HttpProxyConfig, type HttpResource, type KubernetesResource, type ProxiedResource } from './config.ts';
export { httpProxyErrors, HttpProxyError, type HttpProxyErrorCode } from './errors.ts';
export { maskJson, type JsonMaskPlan } from './json-masking.ts';
export type { CommandGate, SessionEventSink, IdentityVerifier } from './ports.ts';
