/**
 * The commands people and jobs use to reach resources without handling tokens
 * (issue #16): login / logout / whoami, connect, resources, ssh, kube. One
 * registrar for main.ts; each command lives in its own file.
 */
import type { Command } from 'commander';
import { registerLoginCommands } from './login.ts';
import { registerConnectCommand } from './connect.ts';
import { registerSshCommands } from './ssh.ts';
import { registerKubeCommands } from './kube.ts';
import { registerResourcesCommand } from './resources.ts';

export function registerAccessCommands(program: Command): void {
  registerLoginCommands(program);
  registerConnectCommand(program);
  registerSshCommands(program);
  registerKubeCommands(program);
  registerResourcesCommand(program);
}
