/**
 * A program's arguments read the way getopt-style programs read them,
 * without knowing the program: options (short clusters split, long ones
 * without their `=value`), operands, and the words that could be its
 * subcommand. Nothing here knows which options take a value, so wherever an
 * option could have swallowed the next word both readings are kept.
 */
export interface ArgumentScan {
  /** `-aH` → `-a`, `-H`; `--host=x` → `--host`. In every position (GNU getopt permutes). */
  options: string[];
  /** Words that are not options (a lone `-` is one; everything after `--` is). */
  operands: string[];
  /**
   * Candidates for the first operand, the subcommand (`systemctl status`):
   * the first operand, and the next one too when an option right before it
   * might have taken it as its value (`systemctl -p status stop x`).
   */
  subcommands: string[];
}

const isOption = (w: string): boolean => w.startsWith('-') && w.length > 1;

export function scanArguments(args: readonly string[]): ArgumentScan {
  const options: string[] = [];
  const operands: string[] = [];
  const subcommands: string[] = [];
  let endOfOptions = false;
  /** Still looking for the subcommand; `ambiguous` when the previous word could own the next. */
  let looking = true;
  let ambiguous = false;
  for (const w of args) {
    if (!endOfOptions && w === '--') {
      endOfOptions = true;
      ambiguous = false;
      continue;
    }
    if (!endOfOptions && isOption(w)) {
      if (w.startsWith('--')) {
        const eq = w.indexOf('=');
        options.push(eq < 0 ? w : w.slice(0, eq));
        ambiguous = eq < 0;
      } else {
        for (const c of w.slice(1)) options.push(`-${c}`);
        ambiguous = true;
      }
      continue;
    }
    operands.push(w);
    if (looking) {
      subcommands.push(w);
      // An operand after a value-less position is certainly the first operand.
      if (!ambiguous) looking = false;
    }
    ambiguous = false;
  }
  return { options, operands, subcommands };
}

/**
 * A long option as written matches a name also when it abbreviates it:
 * getopt_long accepts any unambiguous prefix (`--rot` is `--rotate`).
 */
export function abbreviates(written: string, name: string): boolean {
  return written.startsWith('--') && written.length > 2 && name.startsWith(written);
}
