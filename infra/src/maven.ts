import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { requireProgram, run } from './processes.ts';

const MVN_HINT = 'install Maven (`apt-get install maven`) and Java 17 (`apt-get install openjdk-17-jre-headless`)';

/** Copies the dependencies of a pom into `outputDir` (Maven keeps its download cache in ~/.m2). */
export function copyDependencies(pom: string, outputDir: string): void {
  if (existsSync(outputDir) && readdirSync(outputDir).some((f) => f.endsWith('.jar'))) return;
  requireProgram('mvn', MVN_HINT);
  mkdirSync(outputDir, { recursive: true });
  run('mvn', ['-q', '-B', '-f', pom, 'dependency:copy-dependencies', `-DoutputDirectory=${outputDir}`, '-DincludeScope=runtime']);
}

/** Fetches one artifact (group:artifact:version:packaging[:classifier]) into `outputDir`. */
export function copyArtifact(coordinates: string, outputDir: string): string {
  requireProgram('mvn', MVN_HINT);
  mkdirSync(outputDir, { recursive: true });
  run('mvn', ['-q', '-B', 'dependency:copy', `-Dartifact=${coordinates}`, `-DoutputDirectory=${outputDir}`]);
  const [, artifact, version, packaging, classifier] = coordinates.split(':');
  const file = join(outputDir, `${artifact}-${version}${classifier ? `-${classifier}` : ''}.${packaging}`);
  if (!existsSync(file)) throw new Error(`Maven did not produce ${file}`);
  return file;
}

export function javaCommand(): string {
  if (process.env.JAVA_HOME && existsSync(join(process.env.JAVA_HOME, 'bin', 'java'))) return join(process.env.JAVA_HOME, 'bin', 'java');
  return requireProgram('java', MVN_HINT);
}
