import { describeError, isPortcullisError } from '@portcullis/kit';

/** Prints why a command failed as `portcullis: <message>` (with its PCL_ERR_ code) and sets exit status 1. */
export function reportFailure(err: unknown): void {
  const code = isPortcullisError(err) ? ` [${err.code}]` : '';
  console.error(`portcullis: ${describeError(err)}${code}`);
  process.exitCode = 1;
}

/** Wraps a command action so every failure is reported the same way. */
export const failsCleanly = <A extends unknown[]>(action: (...args: A) => Promise<void>) =>
  async (...args: A): Promise<void> => {
    try {
      await action(...args);
    } catch (err) {
      reportFailure(err);
    }
  };
