export * from './cursor';
export * from './histogram';
export * from './job-defaults';
