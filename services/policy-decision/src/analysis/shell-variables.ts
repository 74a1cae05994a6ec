/**
 * Variables a command sets, and the ones that change what a program loads
 * or runs (loader, pager, editor, shell start-up and parsing). Those are
 * admitted only by a policy that names them exactly, never by a glob.
 */
import { scanArguments } from './shell-options.ts';

const SENSITIVE_EXACT = new Set([
  'PATH', 'CDPATH', 'ENV', 'BASH_ENV', 'IFS', 'PS1', 'PS2', 'PS3', 'PS4', 'PROMPT_COMMAND', 'SHELLOPTS', 'BASHOPTS',
  'GLOBIGNORE', 'BASH_XTRACEFD', 'HISTFILE', 'HOME', 'SHELL', 'TMPDIR', 'PAGER', 'EDITOR', 'VISUAL', 'BROWSER',
  'LESSOPEN', 'LESSCLOSE', 'LESSKEY', 'LESS', 'MORE', 'MANOPT', 'GCONV_PATH', 'LOCPATH', 'NLSPATH', 'HOSTALIASES', 'RESOLV_HOST_CONF',
  'GLIBC_TUNABLES', 'TZDIR', 'TERMINFO', 'TERMINFO_DIRS', 'INPUTRC', 'ZDOTDIR', 'XDG_CONFIG_HOME', 'XDG_CONFIG_DIRS', 'XDG_DATA_DIRS',
  'PYTHONPATH', 'PYTHONSTARTUP', 'PYTHONHOME', 'PYTHONINSPECT', 'PERL5LIB', 'PERL5OPT', 'PERLLIB', 'RUBYOPT', 'RUBYLIB',
  'NODE_OPTIONS', 'NODE_PATH', 'JAVA_TOOL_OPTIONS', '_JAVA_OPTIONS', 'JDK_JAVA_OPTIONS', 'CLASSPATH',
  'SSH_ASKPASS', 'SUDO_ASKPASS', 'SUDO_EDITOR', 'GIT_SSH', 'GIT_SSH_COMMAND', 'GIT_EXEC_PATH', 'GIT_EXTERNAL_DIFF', 'GIT_ASKPASS',
  'GIT_CONFIG', 'GIT_CONFIG_GLOBAL', 'GIT_CONFIG_SYSTEM', 'GIT_CONFIG_PARAMETERS', 'GIT_PAGER', 'GIT_EDITOR', 'GIT_DIR', 'GIT_WORK_TREE',
  'OPENSSL_CONF', 'OPENSSL_ENGINES', 'SSL_CERT_FILE', 'SSL_CERT_DIR', 'KUBECONFIG', 'DOCKER_HOST', 'SYSTEMD_PAGERSECURE', 'SYSTEMD_LESS',
]);
/** Name patterns: prefix* and *suffix. */
const SENSITIVE_PREFIXES = ['LD_', 'DYLD_', 'BASH_FUNC_', 'MALLOC_', 'GIT_CONFIG_', 'SYSTEMD_', 'PYTHON', 'PERL', 'RUBY', 'LUA_', 'GCONV', 'NIX_'];
const SENSITIVE_SUFFIXES = ['PAGER', 'EDITOR', '_ASKPASS', '_OPTIONS', '_PATH', '_PRELOAD', '_LIBRARY_PATH'];

/** True for variables that change what gets loaded or run; never allowed implicitly. */
export function isSensitiveVariable(name: string): boolean {
  const upper = name.toUpperCase();
  return SENSITIVE_EXACT.has(upper) || SENSITIVE_PREFIXES.some((p) => upper.startsWith(p)) || SENSITIVE_SUFFIXES.some((s) => upper.endsWith(s));
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `NAME=v`, `NAME+=v`, `NAME[i]=v` → NAME; anything else is returned as written (never a valid allow-list name). */
export function variableName(assignment: string): string {
  let end = 0;
  while (end < assignment.length && /[A-Za-z0-9_]/.test(assignment[end]!)) end++;
  return end > 0 ? assignment.slice(0, end) : assignment;
}

/** Variables a builtin assigns from its arguments (`read X`, `printf -v X`, `mapfile A`, `getopts o X`). */
export function variablesAssignedBy(program: string, args: readonly string[]): string[] {
  switch (program) {
    case 'read':
    case 'mapfile':
    case 'readarray': {
      // Every identifier-shaped word may be a name (option values included): over-approximate.
      const names = args.filter((a) => IDENTIFIER.test(a));
      return program === 'read' ? [...names, 'REPLY'] : [...names, 'MAPFILE'];
    }
    case 'printf': {
      const names: string[] = [];
      for (let i = 0; i < args.length; i++) {
        const a = args[i]!;
        if (a === '--' || !a.startsWith('-')) break;
        if (a === '-v' && args[i + 1] !== undefined) names.push(variableName(args[++i]!));
        else if (a.startsWith('-v')) names.push(variableName(a.slice(2)));
      }
      return names;
    }
    case 'getopts': {
      const operands = scanArguments(args).operands;
      return operands[1] !== undefined ? [variableName(operands[1])] : [];
    }
    default:
      return [];
  }
}
