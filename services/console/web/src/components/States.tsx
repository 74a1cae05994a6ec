import { ApiError } from '../api.ts';

export function Loading({ what }: { what: string }) {
  return (
    <p className="muted" role="status" aria-live="polite">
      Loading {what}…
    </p>
  );
}

export function ErrorNote({ error }: { error: unknown }) {
  const message = error instanceof ApiError ? `${error.message} (${error.code})` : error instanceof Error ? error.message : String(error);
  return (
    <p className="error" role="alert">
      {message}
    </p>
  );
}

export function EffectBadge({ effect }: { effect: string | null | undefined }) {
  return <span className={`badge effect-${effect ?? 'none'}`}>{effect ?? 'no verdict'}</span>;
}
