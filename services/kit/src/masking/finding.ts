import type { Detector } from '@portcullis/schemas';

/** What kind of secret a 'secret' finding is; it names the `[REDACTED:<kind>]` mask. */
export type SecretKind =
  | 'jwt'
  | 'private-key'
  | 'aws-access-key'
  | 'github-token'
  | 'slack-token'
  | 'google-api-key'
  | 'credential';

/** One sensitive span of a text: `text.slice(start, end)` is the value found. */
export interface Finding {
  detector: Detector;
  start: number;
  end: number;
  /** Set for 'secret' findings; for the others it repeats `detector`. */
  kind: SecretKind | Exclude<Detector, 'secret'>;
}

/** A scanner appends its findings to `out` in ascending, non-overlapping order. */
export type Scanner = (text: string, out: Finding[]) => void;
