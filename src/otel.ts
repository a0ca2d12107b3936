/**
 * `macro-orchestrator/otel`: runs as OpenTelemetry traces. A separate entry point, so that
 * `@opentelemetry/api` (an optional peer dependency) is loaded only by those who import it.
 * @module
 */
export { type TraceRunsOptions, type TraceSource, traceRuns } from './otel/trace-runs.js';
