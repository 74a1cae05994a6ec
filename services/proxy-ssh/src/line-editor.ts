/**
 * Reconstructs the line a user submits in an interactive shell from the
 * keystrokes that cross the channel, the way a readline-style line editor
 * with the cursor at the end would see them:
 *   printable text appends; DEL/BS delete one character; Ctrl-U clears the
 *   line; Ctrl-W deletes the previous word; Ctrl-C abandons the line;
 *   CR or LF submits it.
 * Anything that moves the cursor or lets the remote side change the line
 * (escape sequences such as arrow keys or history, Tab completion, Ctrl-A/E/
 * B/F/K/R/Y …) makes the reconstructed text unknowable: it is still judged,
 * but marked `exact: false`. Best effort by nature: see docs/protocols/ssh.md.
 */
export type LineEditorStep =
  /** Bytes to forward to the target as typed (echo happens there). */
  | { kind: 'forward'; data: Buffer }
  /** The user pressed Enter: judge `line` before the Enter (`enter`) is forwarded. */
  | { kind: 'submit'; line: string; exact: boolean; enter: Buffer };

const CR = 0x0d;
const LF = 0x0a;
const ESC = 0x1b;

export class LineEditor {
  private line = '';
  private exact = true;
  /** Inside an escape sequence: 1 after ESC, 2 inside CSI / SS3. */
  private escape = 0;
  private readonly decoder = new TextDecoder('utf-8', { fatal: false });

  /** Splits a chunk of input into what can be forwarded now and the submitted lines (in order). */
  feed(data: Buffer): LineEditorStep[] {
    const steps: LineEditorStep[] = [];
    let forwardFrom = 0;
    let textFrom = 0;
    const takeText = (to: number): void => {
      if (to > textFrom) this.line += this.decoder.decode(data.subarray(textFrom, to), { stream: true });
    };
    for (let i = 0; i < data.length; i++) {
      const b = data[i]!;
      if (this.escape > 0) {
        if (this.escape === 1) this.escape = b === 0x5b /* [ */ || b === 0x4f /* O */ ? 2 : 0;
        else if (b >= 0x40 && b <= 0x7e) this.escape = 0;
        textFrom = i + 1;
        continue;
      }
      if (b === CR || b === LF) {
        takeText(i);
        if (i > forwardFrom) steps.push({ kind: 'forward', data: data.subarray(forwardFrom, i) });
        // CR LF typed together (pasted text) is one Enter.
        const end = b === CR && data[i + 1] === LF ? i + 2 : i + 1;
        steps.push({ kind: 'submit', line: this.line, exact: this.exact, enter: data.subarray(i, end) });
        this.line = '';
        this.exact = true;
        forwardFrom = textFrom = end;
        i = end - 1;
        continue;
      }
      if (b < 0x20 || b === 0x7f) {
        takeText(i);
        this.control(b);
        textFrom = i + 1;
      }
    }
    if (this.escape === 0) takeText(data.length);
    if (data.length > forwardFrom) steps.push({ kind: 'forward', data: data.subarray(forwardFrom) });
    return steps;
  }

  /** The line typed so far. */
  get current(): { line: string; exact: boolean } {
    return { line: this.line, exact: this.exact };
  }

  private control(b: number): void {
    switch (b) {
      case 0x7f: // DEL (what terminals send for Backspace)
      case 0x08: // BS
        this.line = Array.from(this.line).slice(0, -1).join('');
        return;
      case 0x15: // Ctrl-U: kill to start of line
        this.line = '';
        return;
      case 0x17: // Ctrl-W: kill the previous whitespace-delimited word
        this.line = this.line.replace(/\S*\s*$/, '');
        return;
      case 0x03: // Ctrl-C: the shell abandons the line
        this.line = '';
        this.exact = true;
        return;
      case 0x04: // Ctrl-D: EOF on an empty line, delete-char otherwise
        if (this.line !== '') this.exact = false;
        return;
      case ESC:
        this.escape = 1;
        this.exact = false;
        return;
      default: // Tab, Ctrl-A/B/E/F/K/R/Y/V …: the line is now whatever the remote editor made of it
        this.exact = false;
    }
  }
}
