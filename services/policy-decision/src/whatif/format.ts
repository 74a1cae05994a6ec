/** The what-if report as text for a terminal. */
import type { DecisionSide } from './compare.ts';
import type { WhatIfReport } from './report.ts';

const n = (x: number): string => x.toLocaleString('en-US');
const list = (names: string[], max = 4): string => (names.length > max ? `${names.slice(0, max).join(', ')} +${names.length - max}` : names.join(', ') || '-');
const oneLine = (text: string, max = 100): string => {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
};

function side(label: string, s: DecisionSide): string {
  const rules = s.ruleIds.length ? s.ruleIds.join(', ') : '(no rule: default)';
  const why = s.reasons[0] ? `: ${oneLine(s.reasons[0], 120)}` : '';
  return `    ${label} ${s.effect.padEnd(5)} by ${rules}${why}`;
}

export function formatWhatIfReport(report: WhatIfReport, heading: string): string {
  const lines = [heading, `read ${n(report.commandsRead)} commands; compared ${n(report.compared)}, ${n(report.unchanged)} unchanged` + (report.unjudged ? `; ${n(report.unjudged)} had no verdict in the log` : '')];
  if (report.transitions.length === 0) {
    lines.push('', 'no command would be decided differently');
  } else {
    lines.push('', `${'transition'.padEnd(14)} ${'commands'.padStart(9)}  ${'identities'.padEnd(32)} resources`);
    for (const t of report.transitions) {
      lines.push(`${t.transition.padEnd(14)} ${n(t.count).padStart(9)}  ${list(t.identities).padEnd(32)} ${list(t.resources)}`);
    }
    for (const t of report.transitions) {
      lines.push('', `${t.transition} (${n(t.count)})`);
      for (const e of t.examples) {
        lines.push(`  ${e.occurredAt} ${e.identity} @ ${e.resource}: ${oneLine(e.command)}`);
        lines.push(side('was:', e.actual));
        lines.push(side('now:', e.draft));
        if (e.maskChange?.noLongerMasked.length) lines.push(`    no longer masked: ${e.maskChange.noLongerMasked.join(', ')}`);
        if (e.maskChange?.newlyMasked.length) lines.push(`    newly masked: ${e.maskChange.newlyMasked.join(', ')}`);
      }
    }
  }
  if (report.identitiesLosingAllAccess.length) lines.push('', `identities that would lose all access: ${report.identitiesLosingAllAccess.join(', ')}`);
  return lines.join('\n');
}
