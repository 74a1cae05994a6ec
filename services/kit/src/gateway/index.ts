export * from './ports.ts';
export * from './judge.ts';
export * from './settings.ts';
