/**
 * The approvals service: the workflow (projection + decider + expiry timers),
 * the HTTP API and the webhook dispatcher, started together.
 *
 *   const { app, stop } = await startApprovalsService({ bus, logger, verifier, webhooks: [], port: 8091 });
 *
 * Without `port` the app is built but not listening (tests use app.inject()).
 */
import type { FastifyInstance } from 'fastify';
import type { Bus, IdentityVerifier, Logger } from '@portcullis/kit';
import { buildApp } from './app.ts';
import { startApprovalWorkflow, type ApprovalWorkflow } from './workflow.ts';
import { DEFAULT_RETRY, resolveEndpoints, startWebhookDispatcher, type RetryPolicy, type WebhookDispatcher, type WebhookEndpointConfig } from './webhooks/dispatcher.ts';

export const DEFAULT_APPROVALS_PORT = 8091;

export interface ApprovalsServiceOptions {
  bus: Bus;
  logger: Logger;
  verifier: IdentityVerifier;
  /** Members see every approval; default `auditors`. */
  auditorGroup?: string;
  /** Endpoints that receive every approval event; secrets are read from the named environment variables. */
  webhooks?: WebhookEndpointConfig[];
  /** Where the webhook secrets are looked up; default process.env. */
  env?: NodeJS.ProcessEnv;
  webhookRetry?: Partial<RetryPolicy>;
  /** Listen on 127.0.0.1:port (0 picks a free port); omit to only build the app. */
  port?: number;
  host?: string;
  /** The API's address as approvers reach it (links in Slack messages); default http://<host>:<port>. */
  publicUrl?: string;
}

export interface ApprovalsService {
  app: FastifyInstance;
  workflow: ApprovalWorkflow;
  /** http://host:port when listening. */
  url?: string;
  stop(): Promise<void>;
}

export async function startApprovalsService(options: ApprovalsServiceOptions): Promise<ApprovalsService> {
  const { bus, logger, verifier, webhooks = [], env = process.env, host = '127.0.0.1' } = options;
  const endpoints = resolveEndpoints(webhooks, env);
  await bus.connect();
  const workflow = await startApprovalWorkflow({ bus, logger });
  await workflow.caughtUp;
  const app = await buildApp({ workflow, verifier, logger, ...(options.auditorGroup ? { auditorGroup: options.auditorGroup } : {}) });
  let url: string | undefined;
  let dispatcher: WebhookDispatcher | undefined;
  try {
    if (options.port !== undefined) {
      await app.listen({ port: options.port, host });
      const address = app.server.address();
      if (address && typeof address === 'object') url = `http://${host}:${address.port}`;
    }
    if (endpoints.length > 0) {
      dispatcher = await startWebhookDispatcher({
        bus,
        logger,
        endpoints,
        lookup: workflow.get,
        apiUrl: options.publicUrl ?? url ?? `http://${host}:${options.port ?? DEFAULT_APPROVALS_PORT}`,
        retry: { ...DEFAULT_RETRY, ...options.webhookRetry },
      });
      await dispatcher.ready;
    }
  } catch (err) {
    await app.close().catch(() => undefined);
    await workflow.stop();
    throw err;
  }
  logger.info({ url, webhooks: endpoints.length }, 'approvals service running');
  return {
    app,
    workflow,
    ...(url ? { url } : {}),
    async stop() {
      await app.close().catch(() => undefined);
      await dispatcher?.stop();
      await workflow.stop();
    },
  };
}
