/**
 * `exec`: a command line on an SSH resource, run as an SSH exec request on
 * the gateway's own connection (the host key pinned, the gateway-held key).
 * The line is judged by the SSH proxy's analysis (the real shell parser) and
 * sent exactly as judged; the login user is the resource's. Output is masked
 * with the verdict's detectors and capped.
 */
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { ShellCommand, VerdictIssued } from '@portcullis/schemas';
import { ALL_DETECTORS, maskText, type SessionRecord } from '@portcullis/kit';
import { connectTarget, type SshResource } from '@portcullis/proxy-ssh';
import type { ServiceContext } from '../context.ts';
import { capText, errorResult, textResult } from '../result.ts';

export function shellCommand(resource: SshResource, commandLine: string): ShellCommand {
  return { kind: 'shell', commandLine, channel: 'exec', targetUser: resource.target.user };
}

/** Collects a stream up to `cap` bytes; the rest is counted. */
class Capture {
  private readonly chunks: Buffer[] = [];
  size = 0;
  total = 0;
  constructor(private readonly cap: number) {}
  add(chunk: Buffer): void {
    this.total += chunk.length;
    if (this.size >= this.cap) return;
    const part = chunk.subarray(0, this.cap - this.size);
    this.chunks.push(part);
    this.size += part.length;
  }
  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

export async function runExec(ctx: ServiceContext, resource: SshResource, commandLine: string, verdict: VerdictIssued, commandId: string, record: SessionRecord): Promise<CallToolResult> {
  const settings = ctx.config.settings;
  const started = Date.now();
  const detectors = verdict.effect === 'mask' ? (verdict.mask?.detectors ?? []) : [];
  let client: Awaited<ReturnType<typeof connectTarget>> | undefined;
  try {
    client = await connectTarget(resource, resource.target.user, { timeoutMs: settings.connectTimeoutMs });
    const stdout = new Capture(settings.maxResultBytes);
    const stderr = new Capture(settings.maxResultBytes);
    const c = client;
    const exit = await new Promise<{ code: number | null; signal?: string; timedOut: boolean }>((resolve, reject) => {
      c.exec(commandLine, (err, stream) => {
        if (err) return reject(err);
        let timedOut = false;
        const timer = setTimeout(() => {
          timedOut = true;
          stream.close();
        }, settings.commandTimeoutMs);
        let code: number | null = null;
        let signal: string | undefined;
        stream.on('exit', (exitCode: number | null, exitSignal?: string) => {
          code = exitCode;
          signal = exitSignal;
        });
        stream.on('data', (d: Buffer) => stdout.add(d));
        stream.stderr.on('data', (d: Buffer) => stderr.add(d));
        stream.on('close', () => {
          clearTimeout(timer);
          resolve({ code, ...(signal ? { signal } : {}), timedOut });
        });
      });
    });
    const mask = (t: string): string => (detectors.length > 0 ? maskText(t, detectors) : t);
    const out = capText(mask(stdout.text()), settings.maxResultBytes);
    const err = capText(mask(stderr.text()), settings.maxResultBytes);
    const truncated = out.truncated || err.truncated || stdout.total > stdout.size || stderr.total > stderr.size;
    const status = exit.code === 0 && !exit.timedOut ? 'executed' : 'failed';
    const tag = exit.timedOut ? 'timeout' : exit.signal ? `signal ${exit.signal}` : `exit ${exit.code ?? '?'}`;
    record.commandCompleted({ commandId, status, durationMs: Date.now() - started, tag, ...(exit.timedOut ? { error: `stopped after ${settings.commandTimeoutMs} ms` } : {}) });
    if (settings.recordBytes > 0) {
      // The record gets every content detector, whatever the verdict (as the HTTP proxy's record does).
      const recorded = capText(maskText(stdout.text() + stderr.text(), ALL_DETECTORS), settings.recordBytes);
      record.outputRecorded({ commandId, format: 'stream', stream: [[record.elapsed(), 'o', recorded.text]], truncated: recorded.truncated || truncated });
    }
    const more = (c: Capture): string => (c.total > c.size ? `\n[truncated by Portcullis: ${c.size} of ${c.total} bytes shown]` : '');
    const text = [`${tag}${exit.timedOut ? ` (stopped after ${settings.commandTimeoutMs} ms)` : ''}`, out.text + more(stdout), ...(stderr.total > 0 ? ['stderr:', err.text + more(stderr)] : [])].join('\n');
    const structured = { resource: resource.name, exitCode: exit.code, ...(exit.signal ? { signal: exit.signal } : {}), stdout: out.text, stderr: err.text, truncated, effect: verdict.effect };
    return status === 'executed' ? textResult(text, structured) : { ...textResult(text, structured), isError: true };
  } catch (err) {
    const message = maskText((err as Error).message ?? String(err), ['secret']);
    record.commandCompleted({ commandId, status: 'failed', durationMs: Date.now() - started, error: message.slice(0, 2000) });
    return errorResult('PCL_ERR_TARGET', `${resource.name}: ${message}`);
  } finally {
    client?.end();
  }
}
