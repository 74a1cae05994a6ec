import type { Detector } from '@portcullis/schemas';
import { maskText } from '@portcullis/kit';

/** Masks free text (NoticeResponse/ErrorResponse fields, COPY text lines) with the content detectors. */
export function maskFreeText(text: string, detectors: Detector[]): string {
  return maskText(text, detectors);
}
