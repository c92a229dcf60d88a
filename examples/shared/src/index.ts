export * from './backend';
export * from './jobs';
export * from './run';
