import type { Command } from 'commander';

/**
 * The command group `name` under `program`, created on first use. Each
 * feature registers its subcommands in its own file (commands/policy.ts adds
 * `policy eval` and `policy test`; `policy publish` can live in another file
 * and call commandGroup(program, 'policy') too), in any order.
 */
export function commandGroup(program: Command, name: string, description: string): Command {
  const existing = program.commands.find((c) => c.name() === name);
  if (existing) return existing;
  return program.command(name).description(description);
}

/** A function that adds its commands to the program; main.ts calls each once. */
export type CommandRegistrar = (program: Command) => void;
