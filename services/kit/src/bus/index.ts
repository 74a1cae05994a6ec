export * from './bus.ts';
export * from './names.ts';
export * from './topics.ts';
export * from './schema-registry.ts';
export * from './subscriber.ts';
export * from './request-reply.ts';
export * from './kafka.ts';
export * from './follow.ts';
