// Type-aware masking of PostgreSQL result values. See docs/masking.md.
export { maskFieldValue, type ColumnMask, type MaskStrategy } from './field-value.ts';
export { maskFreeText } from './free-text.ts';
export { maskCopyTextLine } from './copy-text.ts';
