import type { Identity, Protocol, ResourceRef } from '@portcullis/schemas';
import { SessionRecord, type Logger, type SessionEventSink } from '@portcullis/kit';

/**
 * One MCP session of one caller. Every resource it touches gets a
 * Portcullis session of its own (`mcp-<MCP session id>-<resource>`), opened
 * at the first call and closed with the MCP session, so the audit and the
 * replay show the MCP session's calls per resource, each on its own hash
 * chain, with `via: mcp` and the MCP session id on SessionOpened.
 */
export class CallerSession {
  private readonly records = new Map<string, Promise<SessionRecord>>();
  private closed = false;

  constructor(
    private readonly deps: { sink: SessionEventSink; logger: Logger },
    readonly identity: Identity,
    readonly mcpSessionId: string,
    private readonly client: { address: string; tokenExpiresAt?: string; name?: string },
  ) {}

  /** The caller's MCP client, as it named itself in `initialize` (recorded as the application name). */
  setClientName(name: string | undefined): void {
    if (name) this.client.name = name;
  }

  /** The session record for `resource`, opened (durably) on first use. */
  record(resource: ResourceRef, protocol: Protocol): Promise<SessionRecord> {
    if (this.closed) return Promise.reject(new Error('the MCP session has ended'));
    const key = resource.name;
    let record = this.records.get(key);
    if (!record) {
      const r = new SessionRecord(`mcp-${this.mcpSessionId}-${resource.name}`, this.identity, resource, protocol, this.deps.sink, this.deps.logger, { via: 'mcp', mcpSessionId: this.mcpSessionId });
      record = r
        .opened({
          clientAddress: this.client.address,
          applicationName: `mcp${this.client.name ? `:${this.client.name}` : ''}`,
          ...(this.client.tokenExpiresAt ? { tokenExpiresAt: this.client.tokenExpiresAt } : {}),
        })
        .then(() => r);
      // A session whose opening could not be recorded runs nothing; the next call tries again.
      record.catch(() => this.records.delete(key));
      this.records.set(key, record);
    }
    return record;
  }

  /** Closes every Portcullis session of this MCP session; `before` runs first (withdrawing its held calls). */
  async close(reason: string, before?: () => Promise<void>): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await before?.().catch(() => undefined);
    await Promise.all([...this.records.values()].map((p) => p.then((r) => r.closed(reason), () => undefined)));
  }
}
