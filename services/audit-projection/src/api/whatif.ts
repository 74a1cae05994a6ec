/**
 * POST /policy/whatif: the same what-if as `portcullis policy whatif`, for the
 * console. The answer is NDJSON: progress lines while the log is read, then
 * one line with the result (or an error line), so a browser can show a bar.
 */
import { PassThrough } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { describeError, type Bus } from '@portcullis/kit';
import { formatPolicyError, policyStateFromDocument, runWhatIf } from '@portcullis/policy-decision';
import { ErrorBody } from './schemas.ts';

export const WhatIfRequest = z.object({
  /** The draft policy document (YAML). */
  policy: z.string().min(1).max(1_000_000),
  since: z.iso.datetime({ offset: true }).describe('ISO time; commands from then on'),
  until: z.iso.datetime({ offset: true }).optional(),
  identity: z.string().optional(),
  resource: z.string().optional(),
  protocol: z.enum(['postgres', 'ssh', 'http', 'mcp']).optional(),
});

const PolicyErrorBody = z.object({ code: z.literal('PCL_ERR_VALIDATION'), message: z.string(), errors: z.array(z.string()) });

export function whatIfRoutes({ bus }: { bus: Bus }) {
  return (instance: FastifyInstance): void => {
    const app = instance.withTypeProvider<ZodTypeProvider>();
    app.post('/policy/whatif', {
      schema: {
        description:
          'Re-decide the recorded commands under a draft policy and compare with the verdicts issued. NDJSON: {"progress":{"read","total"}} lines, then {"result":{source, since, until, report}} or {"error":{code,message}}.',
        body: WhatIfRequest,
        response: { 200: z.string().describe('application/x-ndjson stream'), 400: PolicyErrorBody.or(ErrorBody), 401: ErrorBody, 403: ErrorBody },
      },
    }, async (req, reply) => {
      const loaded = policyStateFromDocument(req.body.policy, 'draft.yaml');
      if (!loaded.ok) {
        return reply.status(400).send({ code: 'PCL_ERR_VALIDATION', message: `the draft policy has ${loaded.errors.length} error(s)`, errors: loaded.errors.map(formatPolicyError) });
      }
      const { policy: _policy, since, until, ...rest } = req.body;
      const stream = new PassThrough();
      const line = (value: unknown): boolean => stream.write(`${JSON.stringify(value)}\n`);
      let lastProgress = 0;
      runWhatIf({
        bus,
        draft: loaded.state,
        filter: { since: new Date(since).toISOString(), ...(until ? { until: new Date(until).toISOString() } : {}), ...rest },
        onProgress: (read, total) => {
          if (Date.now() - lastProgress < 250) return;
          lastProgress = Date.now();
          line({ progress: { read, total } });
        },
      })
        .then((result) => line({ result }))
        .catch((err: unknown) => line({ error: { code: 'PCL_ERR_BUS_UNAVAILABLE', message: `what-if failed: ${describeError(err)}` } }))
        .finally(() => stream.end());
      reply.header('content-type', 'application/x-ndjson');
      return reply.send(stream as never);
    });
  };
}
