export { createSshProxy, type SshProxy, type SshProxyDeps } from './proxy.ts';
export type { ExecTiming } from './exec-timing.ts';
export { loadSshProxyConfig, parseSshProxyConfig, parseLogin, sshEngine, SshResource, SshSettings, type SshProxyConfig, type SshProxyConfigInput } from './config.ts';
export { LineEditor, type LineEditorStep } from './line-editor.ts';
export { StreamRecorder } from './recorder.ts';
export { fingerprintOf } from './host-key.ts';
export type { CommandGate, SessionEventSink, IdentityVerifier } from './ports.ts';
// The MCP server's `exec` tool reaches hosts with the proxy's own target connection (services/mcp).
export { connectTarget, TargetConnectError } from './target-connector.ts';
