/**
 * @conveyor/adapters-conformance — the suite every Conveyor backend passes: example-based checks of every contract
 * member, a model-based property test against a reference model, and concurrency checks.
 */
export { type CheckId, checks } from './checks/index';
export { createTestClock, TEST_EPOCH, type TestClock } from './clock';
export {
  collectPages,
  defineCheck,
  expectConveyorError,
  runCheck,
  type WithBackendOptions,
  waitUntil,
  withBackend,
} from './harness';
export { MODEL_REGRESSIONS } from './model/regressions';
export { type RunModelOptions, runModel } from './model/run-model';
export { type AdditionalTestsContext, type ConformanceOptions, runConformanceSuite } from './suite';
export type {
  BackendFactory,
  BackendFactoryContext,
  CheckContext,
  CheckGroup,
  ConformanceCheck,
  ModelRegression,
} from './types';
