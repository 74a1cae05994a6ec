interface Integrity {
  status: 'ok' | 'gap' | 'tampered';
  missingSeq: number | null;
  tamperedSeq: number | null;
  detail: string;
}

/** The session's hash-chain check: ok, a gap at seq N, or tampered at seq N. */
export function IntegrityBadge({ integrity }: { integrity: Integrity }) {
  const label =
    integrity.status === 'ok' ? 'integrity ok' : integrity.status === 'gap' ? `gap at seq ${integrity.missingSeq ?? '?'}` : `tampered at seq ${integrity.tamperedSeq ?? '?'}`;
  return (
    <span className={`badge integrity-${integrity.status}`} title={integrity.detail}>
      {label}
    </span>
  );
}
