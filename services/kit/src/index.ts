export * from './errors.ts';
export * from './logger.ts';
export * from './config.ts';
export * from './bus/index.ts';
export * from './testing.ts';
export * from './identity/index.ts';
export * from './masking/index.ts';
export * from './session-record.ts';
