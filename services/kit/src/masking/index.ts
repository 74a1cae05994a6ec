// Content detectors and text masking shared by every proxy. See docs/masking.md.
export { findSensitive, ALL_DETECTORS, DetectorSet } from './find-sensitive.ts';
export type { Finding, SecretKind } from './finding.ts';
export { maskText } from './mask-text.ts';
export { batchMaskCounts } from './mask-counts.ts';
export { maskValue, hashValue, REDACTED, type ValueMaskStrategy } from './mask-value.ts';
export { maskFinding, maskEmail, maskCardNumber, maskIban, maskSsn, maskPhone } from './shapes.ts';
export { isPaymentCardNumber, luhnValid } from './payment-card.ts';
export { ibanChecksumValid } from './iban.ts';
