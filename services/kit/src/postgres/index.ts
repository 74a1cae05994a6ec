export * from './encodings.ts';
export * from './settings.ts';
