/**
 * Given the example policy as shipped (policies/examples/automation-access.yaml)
 * and an automation identity on a production host, when a forbidden shell
 * command is disguised (redirections, variables, subcommands and flags, path
 * spellings, recursive reads), then it is still blocked; the everyday
 * inspection commands stay allowed.
 *
 * Add a case: one line in `blocked` or `allowed`. Hosts are 127.0.0.1.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { ResourceRef } from '@portcullis/schemas';
import { evaluate } from '../src/evaluate.ts';
import { policyStateFromDocument } from '../src/policy/state.ts';
import { command } from './given.ts';

const examplePolicy = new URL('../../../policies/examples/automation-access.yaml', import.meta.url);
const loaded = policyStateFromDocument(readFileSync(examplePolicy, 'utf8'), 'automation-access.yaml');
if (!loaded.ok) throw new Error(`the example policy is invalid: ${JSON.stringify(loaded.errors)}`);
const policy = loaded.state;
const webProd: ResourceRef = { name: 'web-1.prod', kind: 'ssh', tags: ['production'] };

async function verdict(line: string, targetUser: string): Promise<{ effect: string; why: string }> {
  const { decision, analysis } = await evaluate(command({ kind: 'shell', commandLine: line, channel: 'exec', targetUser }, { resource: webProd }), policy);
  const units = analysis.ok && analysis.kind === 'shell' ? analysis.commands.map((c) => c.program || '(bare)').join(', ') : '';
  return { effect: decision.effect, why: `${decision.ruleIds.join(',')} | ${decision.reasons.join('; ')} | units: ${units}` };
}

/** [what is tried, command line]: each must be blocked, for root and for an ordinary login. */
const blocked: [string, string][] = [
  // ------------------------------------------------ redirections (issue 11 §2)
  ['write a raw disk through a redirection', 'cat /dev/zero > /dev/sda'],
  ['truncate the loader preload list', 'ls > /etc/ld.so.preload'],
  ['read shadow through stdin', 'cat < /etc/shadow'],
  ['read a key through stdin', "grep '' < /root/.ssh/id_rsa"],
  ['send a file to the network', 'cat /etc/passwd > /dev/tcp/127.0.0.1/80'],
  ['append to a profile', 'ls >> /etc/profile'],
  ['clobber', 'ls >| /tmp/portcullis-x'],
  ['stdout and stderr to a file', 'ls &> /tmp/portcullis-x'],
  ['append both', 'ls &>> /tmp/portcullis-x'],
  ['open read-write', 'ls 1<> /tmp/portcullis-x'],
  ['>&file is a write', 'ls >&/tmp/portcullis-x'],
  ['stderr to a file', 'ls 2>/etc/cron.d/x'],
  ['a statement of redirections only', '> /etc/ld.so.preload'],
  ['a block’s redirection', '{ ls; } > /etc/cron.d/x'],
  ['an arithmetic command’s redirection', '(( 1 )) > /etc/ld.so.preload'],
  ['a loop reading shadow', 'while true; do cat; done < /etc/shadow'],
  ['a descriptor opened on shadow', 'exec 3< /etc/shadow; cat <&3'],
  ['stdin redirect with a spelled-out fd and a double slash', 'cat 0< /etc//shadow'],
  ['read from the network', 'cat < /dev/tcp/127.0.0.1/22'],
  ['udp', 'head -c 10 < /dev/udp/127.0.0.1/53'],
  ['a here-string does not excuse the write', 'cat <<< x > /tmp/portcullis-x'],
  ['network path with a dot segment', 'ls > /dev/./tcp/127.0.0.1/80'],
  ['a computed redirect target', 'ls > "$(echo /tmp/x)"'],
  ['tcp through >&', 'cat /etc/hostname >& /dev/tcp/127.0.0.1/80'],
  // ------------------------------------------------ variables (issue 11 §2)
  ['LD_PRELOAD prefix', 'LD_PRELOAD=/tmp/e.so ls'],
  ['PATH prefix', 'PATH=/tmp/evil ls'],
  ['a pager that runs a shell', "SYSTEMD_PAGER='sh -c id' systemctl status x"],
  ['env PATH', 'env PATH=/tmp/evil ls'],
  ['env LD_PRELOAD', 'env LD_PRELOAD=/tmp/e.so ls'],
  ['PATH for the rest of the line', 'PATH=/tmp/evil; ls'],
  ['export PATH', 'export PATH=/tmp/evil; ls'],
  ['declare -x', 'declare -x LD_PRELOAD=/tmp/e.so; ls'],
  ['export then &&', 'export LD_PRELOAD=/tmp/e.so && ls'],
  ['typeset pager', 'typeset -x PAGER=/tmp/x; systemctl status x'],
  ['readonly BASH_ENV', 'readonly BASH_ENV=/tmp/x; ls'],
  ['a loop variable named PATH', 'for PATH in /tmp/evil; do ls; done'],
  ['IFS', 'IFS=/ ls'],
  ['PAGER for journalctl', 'PAGER=/tmp/x journalctl'],
  ['GIT_PAGER', 'GIT_PAGER=/tmp/x ls'],
  ['MANPAGER', 'MANPAGER=/tmp/x ls'],
  ['BASH_ENV', 'BASH_ENV=/tmp/x ls'],
  ['ENV', 'ENV=/tmp/x ls'],
  ['PS4', "PS4='$(id)' ls"],
  ['SHELLOPTS', 'SHELLOPTS=xtrace ls'],
  ['PROMPT_COMMAND', 'PROMPT_COMMAND=id ls'],
  ['EDITOR', 'EDITOR=/tmp/x systemctl status x'],
  ['VISUAL', 'VISUAL=/tmp/x ls'],
  ['LD_LIBRARY_PATH', 'LD_LIBRARY_PATH=/tmp ls'],
  ['a variable nobody allowed', 'FOO=bar ls'],
  ['env under an allowed wrapper', 'timeout 5 env LD_PRELOAD=/tmp/e.so ls'],
  ['env -u then PATH', 'nice -n 5 env -u X PATH=/tmp/evil ls'],
  ['sudo VAR=', 'sudo LD_PRELOAD=/tmp/e.so ls'],
  ['a nameref to PATH', 'declare -n r=PATH; r=/tmp/evil; ls'],
  ['PATH append', 'PATH+=:/tmp/evil ls'],
  ['read into PATH', 'read PATH <<< /tmp/evil; ls'],
  ['printf -v PATH', 'printf -v PATH /tmp/evil; ls'],
  ['a prefix on a block', 'LD_PRELOAD=/tmp/e.so; { ls; }'],
  ['a prefix inside sh -c', "sh -c 'LD_PRELOAD=/tmp/e.so ls'"],
  // ------------------------------------------------ subcommands and flags (issue 11 §3)
  ['systemctl poweroff', 'systemctl poweroff'],
  ['systemctl reboot', 'systemctl reboot'],
  ['systemctl stop', 'systemctl stop sshd'],
  ['systemctl mask', 'systemctl mask sshd'],
  ['systemctl isolate', 'systemctl isolate rescue.target'],
  ['systemctl kill', 'systemctl kill sshd'],
  ['systemctl edit', 'systemctl edit sshd'],
  ['systemctl set-environment', 'systemctl set-environment X=1'],
  ['systemctl daemon-reload is not a read', 'systemctl daemon-reload'],
  ['another host', 'systemctl -H root@127.0.0.1 stop nginx'],
  ['another host, status', 'systemctl -H root@127.0.0.1 status nginx'],
  ['--host=', 'systemctl --host=root@127.0.0.1 status nginx'],
  ['-H in a cluster', 'systemctl -qH 127.0.0.1 status nginx'],
  ['-H attached', 'systemctl -Hroot@127.0.0.1 status nginx'],
  ['an abbreviated --host', 'systemctl --ho=127.0.0.1 status nginx'],
  ['--host after the verb (getopt permutes)', 'systemctl status nginx --host 127.0.0.1'],
  ['an option that may take the allowed verb as its value', 'systemctl -p status stop nginx'],
  ['after --', 'systemctl -- stop nginx'],
  ['--machine', 'systemctl -M container status x'],
  ['sudo systemctl reboot', 'sudo systemctl reboot'],
  ['journalctl --vacuum-time', 'journalctl --vacuum-time=1s'],
  ['journalctl --vacuum-size', 'journalctl --vacuum-size=1'],
  ['journalctl --rotate', 'journalctl --rotate'],
  ['journalctl --flush', 'journalctl --flush'],
  ['journalctl --rot (abbreviation)', 'journalctl --rot'],
  ['journalctl --vac (abbreviation)', 'journalctl --vac=1s'],
  ['journalctl reading another file', 'journalctl --file=/etc/shadow'],
  ['journalctl -D', 'journalctl -D /root'],
  ['ps e', 'ps e'],
  ['ps eww', 'ps eww'],
  ['ps axe', 'ps axe'],
  ['ps -e e', 'ps -e e'],
  ['ps environ format', 'ps -o pid,environ'],
  ['ps environ format, attached', 'ps -opid,environ'],
  ['ps --format', 'ps --format=pid,environ'],
  ['ps --format abbreviated', 'ps --form pid,environ'],
  ['systemctl with a pager (ssh -t gives it a terminal)', 'systemctl status nginx'],
  ['journalctl with a pager', 'journalctl -u nginx'],
  ['shutdown', 'shutdown -h now'],
  // ------------------------------------------------ paths (issue 11 §4)
  ['double slash', 'cat /etc//shadow'],
  ['dot segment', 'cat /etc/./shadow'],
  ['dot-dot segment', 'cat /etc/../etc/shadow'],
  ['dot in root’s home', 'cat /root/./.ssh/id_rsa'],
  ['relative key', 'cat ./.ssh/id_rsa'],
  ['--files0-from=', 'du --files0-from=/etc/shadow'],
  ['--files0-from as a separate word', 'du --files0-from /etc/shadow'],
  ['recursive grep of /root', 'grep -r . /root'],
  ['recursive grep of /home', 'grep -r PRIVATE /home'],
  ['through /proc/self/root', 'cat /proc/self/root/etc/shadow'],
  ['shadow backup', 'cat /etc/shadow-'],
  ['shadow.bak', 'head /etc/shadow.bak'],
  ['gshadow', 'tail -f /etc/gshadow'],
  ['host key', 'cat /etc/ssh/ssh_host_ed25519_key'],
  ['environment of pid 1', 'cat /proc/1/environ'],
  ['environment through task', 'cat /proc/self/task/1/environ'],
  ['thread-self', 'cat /proc/thread-self/environ'],
  ['through a task’s root', 'cat /proc/1/task/1/root/etc/shadow'],
  ['through a process’s cwd and ..', 'cat /proc/1/cwd/../etc/shadow'],
  ['through /dev/fd and ..', 'cat /dev/fd/../root/etc/shadow'],
  ['through /proc/net and ..', 'cat /proc/net/../root/etc/shadow'],
  ['relative climb to the root', 'cat ../../../../etc/shadow'],
  ['~root', 'cat ~root/.ssh/id_rsa'],
  ['~', 'cat ~/.ssh/id_ed25519'],
  ['~user', 'cat ~deploy/.ssh/id_rsa'],
  ['cd then a bare name', 'cd /etc && cat shadow'],
  ['cd twice, relative', 'cd /etc; cd ssh; cat ssh_host_rsa_key'],
  ['cd in a loop after the read', 'for i in 1 2; do cat shadow; cd /etc; done'],
  ['grep -f reads its patterns from a file', 'grep -f /etc/shadow x'],
  ['grep --file=', 'grep --file=/etc/shadow x'],
  ['grep -f attached', 'grep -f/etc/shadow x'],
  ['quoting inside the path', `cat "/etc/sh"'adow'`],
  ['a backslash inside the path', 'cat /etc/sha\\dow'],
  ['ANSI-C quoting', "cat $'/etc/\\x73hadow'"],
  ['a glob', 'cat /etc/sha*'],
  ['many slashes and dots', 'tail -n1 ///./etc///shadow'],
  ['under sudo', 'sudo cat /etc/shadow'],
  ['under timeout', 'timeout 5 cat /etc/shadow'],
  ['grep -R of /etc', 'grep -R x /etc'],
  ['grep -rl of /home/', 'grep -rl x /home/'],
  ['grep --recursive', 'grep --recursive x /root'],
  ['grep -d recurse', 'grep -d recurse x /root'],
  ['grep --recursive abbreviated', 'grep --recur x /home'],
  ['grep --regexp abbreviated: every operand is a directory', 'grep -r --reg=x /home /var/log'],
  ['ls --recursive abbreviated', 'ls --recursiv /home'],
  ['ls -R /root', 'ls -R /root'],
  ['ls -laR /home', 'ls -laR /home'],
  ['du -a /root', 'du -a /root'],
  ['du of the root', 'du /'],
  ['cd / then a recursive read', 'cd / && grep -r x root'],
  ['cd /root then recursive read of .', 'cd /root && grep -r x .'],
  ['recursive read of an unknown working directory', 'grep -r x .'],
  ['grep -r without a directory reads .', 'grep -r x'],
  ['du of an unknown working directory', 'du'],
  ['ls -R of an unknown working directory', 'ls -R'],
  ['a raw disk', 'cat /dev/sda'],
  ['an NVMe disk', 'head -c 512 /dev/nvme0n1'],
  ['physical memory', 'cat /dev/mem'],
  ['another process’s memory', 'cat /proc/1/mem'],
  ['another process’s open files', 'cat /proc/1/fd/3'],
  ['someone’s kube config', 'cat /home/deploy/.kube/config'],
  ['pgpass', 'cat .pgpass'],
  ['an ssh directory listing', 'ls /home/deploy/.ssh'],
  ['pid 1’s cwd is /', 'cat /proc/1/cwd/etc/shadow'],
  ['chained /proc roots', 'cat /proc/self/root/proc/self/root/etc/shadow'],
  ['a tree walked through /proc/1/root', 'ls -R /proc/1/root'],
  ['a recursive read of a process’s cwd', 'grep -r x /proc/self/cwd'],
  ['a Debian shadow backup', 'cat /var/backups/shadow.bak'],
  ['a shadow copy elsewhere', 'head /srv/old/etc/shadow.old'],
  ['a service account token', 'cat /var/run/secrets/kubernetes.io/serviceaccount/token'],
  ['a TZ file path', 'TZ=/etc/shadow ls'],
  ['file names from a here-string', 'du --files0-from=- <<< /etc/shadow'],
  ['file names from a here-document', "du --files0-from=- <<'EOF'\n/etc/shadow\nEOF"],
  ['names from stdin redirected from shadow', 'du --files0-from=/dev/stdin < /etc/shadow'],
  ['tail --follow=', 'tail --follow=/etc/shadow'],
  ['after --', 'cat -- /etc/shadow'],
  ['du of a parent of /etc', 'du -sh /root/../etc'],
  ['grep -R of the ssh config directory', 'grep -R . /etc/ssh'],
  ['env -S hides a prefix', "env -S 'LD_PRELOAD=/tmp/e.so ls'"],
  ['a lower-case loader variable is judged like the real one', 'ld_preload=/tmp/e.so ls'],
  ['systemctl --root', 'systemctl list-units --root=/tmp'],
  ['journalctl --vacuum-files', 'journalctl --vacuum-files=1'],
  ['journalctl --rotate after other flags', 'journalctl -u x --rotate'],
  ['systemctl --user stop', 'systemctl --user stop x'],
  ['ps auxe', 'ps auxe'],
  ['ps e after a pid option', 'ps -p 1 e'],
  ['a coprocess', 'coproc cat /etc/shadow'],
  ['a function body', 'f() { cat /etc/shadow; }; f'],
  ['a command substitution argument', 'ls $(cat /etc/shadow)'],
  ['a process substitution', 'cat <(cat /etc/shadow)'],
  ['writing through /proc/self/fd', 'ls > /proc/self/fd/1'],
  ['a write to /proc/sys', 'ls > /proc/sys/kernel/sysrq'],
  ['a key=value operand naming a secret', 'head x=/etc/shadow'],
];

/** Everyday inspection the example policy allows: the guards must not block these. */
const allowed: [string, string][] = [
  ['tail a log into grep', 'tail -n 100 /var/log/syslog | grep ERROR'],
  ['errors hidden', 'ls -la /var/log 2>/dev/null'],
  ['fd duplication is harmless', 'ls /var/log 2>&1'],
  ['both to /dev/null', 'ls /var/log &>/dev/null'],
  ['systemctl status', 'systemctl status nginx --no-pager'],
  ['systemctl status with options after the verb', 'systemctl status nginx --no-pager -n 20'],
  ['systemctl is-active', 'systemctl is-active nginx --no-pager'],
  ['systemctl list-units', 'systemctl list-units --type=service --no-pager'],
  ['journalctl of a unit', 'journalctl -u nginx -n 50 --no-pager'],
  ['journalctl since', 'journalctl --since=-1h --no-pager'],
  ['ps aux', 'ps aux'],
  ['ps -ef', 'ps -ef'],
  ['du of a data directory', 'du -sh /var/lib/postgresql'],
  ['recursive grep of logs', 'grep -r ERROR /var/log/nginx'],
  ['df', 'df -h'],
  ['uptime and free', 'uptime; free -m'],
  ['an allowed variable', 'TZ=UTC ls -la /var/log'],
  ['LC_ALL', 'LC_ALL=C grep -c x /var/log/syslog'],
  ['passwd is not shadow', 'cat /etc/passwd'],
  ['a host public key stays readable by name? (listing /etc/ssh is fine)', 'ls /etc/ssh'],
  ['under timeout', 'timeout 5 cat /var/log/syslog'],
];

for (const user of ['root', 'deploy']) {
  describe(`shell evasions are blocked (example policy, login ${user})`, () => {
    for (const [name, line] of blocked) {
      it(name, async () => {
        const v = await verdict(line, user);
        assert.equal(v.effect, 'block', `${line}\n${v.why}`);
      });
    }
  });
}

describe('everyday inspection stays allowed (example policy)', () => {
  for (const [name, line] of allowed) {
    it(name, async () => {
      const v = await verdict(line, 'deploy');
      assert.equal(v.effect, 'allow', `${line}\n${v.why}`);
    });
  }
});
