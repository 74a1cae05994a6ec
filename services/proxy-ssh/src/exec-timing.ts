/**
 * Where one exec channel's time went on the proxy's side, in milliseconds
 * (bench:ssh prints the medians; a deployment may export them). The caller
 * sees the sum plus its own round trips; only `judgeMs` and `relayMs` are
 * the gateway's own, the target's start-up and run would be paid directly too.
 */
export interface ExecTiming {
  /** exec request received → verdict durable: the edge decision and Kafka's acks=all for the command and its verdict. */
  judgeMs: number;
  /** verdict → the target accepted the exec (channel open round trip and the target starting the command). */
  targetOpenMs: number;
  /** exec accepted → the target closed the channel (the command ran). */
  runMs: number;
  /** target closed → exit status, EOF and close handed to the caller's connection. */
  relayMs: number;
}

type Stage = 'decided' | 'opened' | 'ran' | 'relayed';

/** Marks the stages of one exec as they pass; a stage not reached (a refused command) counts as zero. */
export class ExecClock {
  private readonly received: number;
  private readonly at: Partial<Record<Stage, number>> = {};

  constructor(private readonly now: () => number = () => performance.now()) {
    this.received = this.now();
  }

  mark(stage: Stage): void {
    this.at[stage] = this.now();
  }

  timing(): ExecTiming {
    const decided = this.at.decided ?? this.received;
    const opened = this.at.opened ?? decided;
    const ran = this.at.ran ?? opened;
    const relayed = this.at.relayed ?? ran;
    return { judgeMs: decided - this.received, targetOpenMs: opened - decided, runMs: ran - opened, relayMs: relayed - ran };
  }
}
