import { v7 as uuidv7 } from 'uuid';

/** Time-ordered event and command ids (UUIDv7). */
export const newId = (): string => uuidv7();
export const nowIso = (): string => new Date().toISOString();
