export * from './cursor';
export * from './executions';
export * from './histogram';
export * from './job-defaults';
export * from './payload-json';
export * from './validate-job';
export * from './watch-probe';
