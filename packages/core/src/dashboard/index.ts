/**
 * The framework-agnostic dashboard handler: `createDashboard()` serves the standard dashboard API (see API.md), live
 * events over SSE and WebSocket, Prometheus metrics, health, the OpenAPI document and the web UI.
 */
export type { Dashboard } from './handler';
export { createDashboard, DASHBOARD_API_VERSION } from './handler';
export type {
  DashboardAuth,
  DashboardOptions,
  DashboardPrincipal,
  RedactFunction,
  RedactTarget,
} from './options';
export type { AttachWebSocketOptions } from './realtime/websocket';
export { attachWebSocket } from './realtime/websocket';
export { REDACTED } from './redact';
export type { BasicAuthOptions } from './security';
export { basicAuth } from './security';
