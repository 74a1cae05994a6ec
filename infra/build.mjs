#!/usr/bin/env node
// `npm run build`: every service to JavaScript that plain `node` runs, one way for all (esbuild).
//   node infra/build.mjs            every workspace whose package.json has a "main" under dist/
//   node infra/build.mjs <dir>...   only those workspaces (a package's own `npm run build`)
//
// A service's "main" (dist/main.js, the console's dist/server/main.js) is built from the
// TypeScript file at the same place under src/. The bundle holds the service's own code and the
// workspace packages it imports (@portcullis/*, whose exports are TypeScript sources); every other
// package stays an import resolved from node_modules at run time (native and WASM modules load as
// they do under tsx). tsx stays for development and tests; nothing here changes how they run.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readFileSync, readdirSync, existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Files code finds next to itself through import.meta.url: when the module is in a bundle, they
 * must sit next to the bundle (the same relative path from the bundle's folder).
 */
const SIDE_FILES = [
  {
    module: 'services/policy-decision/src/analysis/shell-syntax-tree.ts',
    from: 'services/policy-decision/src/analysis/shell-syntax',
    to: 'shell-syntax',
    files: ['wasm_exec.js', 'shell-syntax.wasm.gz'],
  },
];

function workspaces() {
  const { workspaces: patterns } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  return patterns.flatMap((p) => {
    if (!p.endsWith('/*')) return [join(root, p)];
    const parent = join(root, p.slice(0, -2));
    return readdirSync(parent).map((d) => join(parent, d));
  }).filter((dir) => existsSync(join(dir, 'package.json')));
}

/** The workspaces with a built main: { dir, name, entry (src/…ts), outfile (dist/…js) }. */
export function buildTargets(dirs = workspaces()) {
  return dirs.flatMap((dir) => {
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    if (typeof pkg.main !== 'string' || !pkg.main.startsWith('dist/')) return [];
    const entry = join(dir, pkg.main.replace(/^dist\//, 'src/').replace(/\.js$/, '.ts'));
    if (!existsSync(entry)) throw new Error(`${pkg.name}: main ${pkg.main} has no source ${relative(root, entry)}`);
    return [{ dir, name: pkg.name, entry, outfile: join(dir, pkg.main) }];
  });
}

/** Workspace packages are bundled (their exports are .ts); every other bare import stays external. */
const externalPackages = {
  name: 'external-packages',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => (args.path.startsWith('@portcullis/') ? undefined : { path: args.path, external: true }));
  },
};

async function buildOne(target) {
  const started = performance.now();
  const result = await build({
    entryPoints: [target.entry],
    outfile: target.outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: 'linked',
    metafile: true,
    logLevel: 'warning',
    plugins: [externalPackages],
  });
  const inputs = new Set(Object.keys(result.metafile.inputs).map((p) => resolve(root, p)));
  for (const side of SIDE_FILES) {
    if (!inputs.has(join(root, side.module))) continue;
    const to = join(dirname(target.outfile), side.to);
    mkdirSync(to, { recursive: true });
    for (const f of side.files) copyFileSync(join(root, side.from, f), join(to, f));
  }
  return { ...target, ms: Math.round(performance.now() - started) };
}

const isMain = process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const only = process.argv.slice(2).map((d) => resolve(d));
  const targets = buildTargets(only.length > 0 ? only : undefined);
  if (targets.length === 0) {
    console.error('nothing to build: no workspace has a "main" under dist/');
    process.exit(1);
  }
  const built = await Promise.all(targets.map(buildOne));
  for (const t of built) console.log(`built ${relative(root, t.outfile).padEnd(44)} ${t.name} (${t.ms} ms)`);
}
