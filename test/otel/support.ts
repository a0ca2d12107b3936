/**
 * An OpenTelemetry tracer whose spans land in the SDK's in-memory exporter, and ways to
 * read the span tree back. Not a test file.
 */
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';

/** A tracer, and the exporter its finished spans go to. */
export function tracing() {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  return { exporter, tracer: provider.getTracer('test') };
}
export const parentId = (span: ReadableSpan | undefined) => span?.parentSpanContext?.spanId;
export const id = (span: ReadableSpan | undefined) => span?.spanContext().spanId;
