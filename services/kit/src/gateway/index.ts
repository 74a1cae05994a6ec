export * from './ports.ts';
export * from './judge.ts';
export * from './settings.ts';
export * from './revocation-state.ts';
export * from './access-guard.ts';
export * from './presence.ts';
export * from './revocation-list.ts';
