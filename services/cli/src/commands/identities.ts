/** `portcullis identities [--dormant 30d] [--overprivileged]`: the identity inventory. */
import type { Command } from 'commander';
import { apiGet, query } from './audit.ts';

export function registerIdentityCommands(program: Command): void {
  program.command('identities').description('every identity seen: groups, first/last seen, resources, commands by effect')
    .option('--dormant <duration>', 'only identities not seen for this long, e.g. 30d')
    .option('--overprivileged', 'identities whose allowed commands used few of the statement classes their policy admits')
    .option('--window <duration>', 'look-back window for --overprivileged', '30d')
    .option('--ratio <r>', 'flag when used/admitted classes is at most this (--overprivileged)', '0.34')
    .option('--kind <human|service>').option('--issuer <url>').option('--resource <name>')
    .option('--json', 'print JSON')
    .action(async (o) => {
      if (o.overprivileged) {
        const answer = JSON.parse(await (await apiGet(`/identities/overprivileged${query({ window: o.window, ratio: o.ratio })}`)).text());
        if (o.json) return console.log(JSON.stringify(answer, null, 2));
        console.log(`policy version ${answer.policyVersion}, window ${answer.window}, flagged at usage <= ${answer.ratio}`);
        for (const i of answer.items) {
          console.log(`${i.subject} (${i.kind}, ${i.issuer}) used ${i.usedClasses.length}/${i.admittedClasses.length} classes: [${i.usedClasses.join(', ')}]; unused: [${i.unusedClasses.join(', ')}] via ${i.allowRules.join(', ')}`);
        }
        return;
      }
      const page = JSON.parse(await (await apiGet(`/identities${query({ dormantSince: o.dormant, kind: o.kind, issuer: o.issuer, resource: o.resource })}`)).text());
      if (o.json) return console.log(JSON.stringify(page, null, 2));
      for (const i of page.items) {
        const counts = Object.entries(i.commandCounts).map(([e, n]) => `${e}=${n}`).join(' ');
        const revoked = i.revoked ? `  REVOKED (${i.revoked.target}) at ${i.revoked.at} by ${i.revoked.by}: ${i.revoked.reason}` : '';
        console.log(`${i.subject}  ${i.kind}  ${i.issuer}  groups=[${i.groups.join(',')}]  first=${i.firstSeen} last=${i.lastSeen}  resources=[${i.resources.join(',')}]  ${counts}${revoked}`);
      }
    });
}
