export * from './ports.ts';
export * from './judge.ts';
