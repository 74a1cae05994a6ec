import { context, isSpanContextValid, SpanStatusCode, trace, type Attributes, type Span } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';

/**
 * OpenTelemetry traces of sessions and commands, exported over OTLP/HTTP when
 * OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set,
 * off otherwise (the API's no-op tracer: no cost, no trace ids). Per session
 * a `session` span, from the moment the connection (HTTP: the request) was
 * accepted, with `accept` and `authenticate` under it; per command a `command` span under it, with `decide`
 * (the verdict, recorded with the command), `hold` (waiting for an approval),
 * `execute` (forwarded to the target and its answer relayed) and `record`
 * (each session event written) under it. Spans carry ids, protocol, resource
 * and effect — never the command's text or results. Parents are passed
 * explicitly (no async context manager is installed).
 */
let provider: BasicTracerProvider | undefined;

export interface Tracing {
  shutdown(): Promise<void>;
}

/** Starts exporting this process's spans when the environment names an OTLP endpoint; undefined when off. */
export function startTracing(service: string, env: NodeJS.ProcessEnv = process.env): Tracing | undefined {
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  const url = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim() || (base ? `${base.endsWith('/') ? base.slice(0, -1) : base}/v1/traces` : undefined);
  if (!url || provider) return undefined;
  const delay = Number(env.OTEL_BSP_SCHEDULE_DELAY ?? 2000);
  provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': env.OTEL_SERVICE_NAME || `portcullis-${service}` }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url }), { scheduledDelayMillis: Number.isFinite(delay) && delay > 0 ? delay : 2000 })],
  });
  trace.setGlobalTracerProvider(provider);
  const started = provider;
  return {
    async shutdown() {
      await started.shutdown().catch(() => undefined);
    },
  };
}

const tracer = () => trace.getTracer('portcullis');

/** A span under `parent` (or a root span); `startTime` (epoch ms) for one that began before it could be created. */
export function startSpan(name: string, parent: Span | undefined, attributes: Attributes = {}, startTime?: number): Span {
  return tracer().startSpan(name, { attributes, ...(startTime !== undefined ? { startTime } : {}) }, parent ? trace.setSpan(context.active(), parent) : context.active());
}

/**
 * How a caller arrived, timed by the proxy before the session's span could
 * exist (the identity, and so the session, is known only once the token is
 * verified): when the connection or request was accepted, and when its
 * token's verification began and ended.
 */
export interface Arrival {
  acceptedAt: number;
  authenticateStartedAt?: number;
  authenticatedAt?: number;
}

/** An identity verifier that stamps `arrival` with the start and end of each verification. */
export function timedVerifier<V extends { verifyToken(token: string): Promise<R> }, R>(verifier: V, arrival: Arrival): { verifyToken(token: string): Promise<R> } {
  return {
    async verifyToken(token) {
      arrival.authenticateStartedAt = Date.now();
      try {
        return await verifier.verifyToken(token);
      } finally {
        arrival.authenticatedAt = Date.now();
      }
    },
  };
}

/** The `accept` and `authenticate` spans of an arrival, under the session span that began at its acceptance. */
export function recordArrival(session: Span | undefined, arrival: Arrival): void {
  if (!traceIdOf(session)) return;
  const acceptEnd = arrival.authenticateStartedAt ?? arrival.authenticatedAt ?? Date.now();
  startSpan('accept', session, {}, arrival.acceptedAt).end(acceptEnd);
  if (arrival.authenticateStartedAt !== undefined) {
    startSpan('authenticate', session, {}, arrival.authenticateStartedAt).end(arrival.authenticatedAt ?? Date.now());
  }
}

/** The span's trace id when it is being exported, else undefined (tracing off). */
export function traceIdOf(span: Span | undefined): string | undefined {
  const ctx = span?.spanContext();
  return ctx && isSpanContextValid(ctx) ? ctx.traceId : undefined;
}

export function endSpan(span: Span | undefined, failure?: string): void {
  if (!span) return;
  if (failure) span.setStatus({ code: SpanStatusCode.ERROR, message: failure });
  span.end();
}

interface CommandTrace {
  sessionId: string;
  command: Span;
  execute?: Span;
}

/** Open command spans by commandId: judgeCommand and SessionRecord find the span of the command they handle. */
const commands = new Map<string, CommandTrace>();

export function startCommandSpan(session: Span | undefined, ids: { sessionId: string; commandId: string; protocol: string; resource: string }): string | undefined {
  const span = startSpan('command', session, { 'portcullis.session_id': ids.sessionId, 'portcullis.command_id': ids.commandId, 'portcullis.protocol': ids.protocol, 'portcullis.resource': ids.resource });
  const traceId = traceIdOf(span);
  if (traceId) commands.set(ids.commandId, { sessionId: ids.sessionId, command: span });
  else span.end();
  return traceId;
}

export const commandSpan = (commandId: string): Span | undefined => commands.get(commandId)?.command;

/** The command was allowed: what follows until it completes is forwarding it and relaying the answer. */
export function commandRuns(commandId: string, effect: string): void {
  const entry = commands.get(commandId);
  if (!entry) return;
  entry.command.setAttribute('portcullis.effect', effect);
  entry.execute = startSpan('execute', entry.command);
}

/** The command is over: completed (with its status) or refused (with the refusal). */
export function endCommandSpan(commandId: string, outcome: { effect?: string; failure?: string }): void {
  const entry = commands.get(commandId);
  if (!entry) return;
  commands.delete(commandId);
  if (outcome.effect) entry.command.setAttribute('portcullis.effect', outcome.effect);
  endSpan(entry.execute, outcome.failure);
  endSpan(entry.command, outcome.failure);
}

/** The session ended: commands still open end with it. */
export function endSessionCommandSpans(sessionId: string): void {
  for (const [commandId, entry] of commands) if (entry.sessionId === sessionId) endCommandSpan(commandId, { failure: 'the session ended first' });
}
