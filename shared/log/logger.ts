import { redactingReplacer } from '#shared/log/redact.ts';

/**
 * The one logger: one JSON line per entry, in the shape Powertools for AWS Lambda writes
 * (`level`, `message`, `timestamp`, `service`, `sampling_rate`, `xray_trace_id` on Lambda, then the
 * attributes), so log queries and metric filters (`$.ticketReuse`, `$.summary.failed`) read it as
 * before. Every attribute passes through the redacting replacer, so a token reaches no log line
 * even when a caller logs a whole object by mistake.
 *
 * Keyfleet's own rather than Powertools' Logger, which cost every function 20 KB of bundle and
 * about 12 ms of CPU at each cold start for what Keyfleet does not use (sampling, buffering,
 * context injection, child loggers).
 */

const LEVELS = { TRACE: 6, DEBUG: 8, INFO: 12, WARN: 16, ERROR: 20, CRITICAL: 24, SILENT: 28 } as const;
export type LogLevel = keyof typeof LEVELS;

/** Keys every entry has; an attribute of the same name is dropped (with a warning, once). */
const RESERVED = new Set(['level', 'message', 'sampling_rate', 'service', 'timestamp']);

function isLevel(value: string | undefined): value is LogLevel {
  return value !== undefined && value in LEVELS;
}

/** Lambda's log-level control first, then `POWERTOOLS_LOG_LEVEL`, then `LOG_LEVEL`; INFO by default. */
function levelFromEnvironment(env: NodeJS.ProcessEnv): LogLevel {
  for (const name of ['AWS_LAMBDA_LOG_LEVEL', 'POWERTOOLS_LOG_LEVEL', 'LOG_LEVEL']) {
    const value = env[name]?.toUpperCase();
    if (isLevel(value)) return value;
  }
  return 'INFO';
}

/** `file:line` of the first stack frame, as Powertools reports an error's location. */
function location(stack: string | undefined): string {
  for (const line of stack?.split('\n') ?? []) {
    const match = /\(([^()]*?):(\d+?):(\d+?)\)\\?$/.exec(line);
    if (match) return `${match[1]}:${Number(match[2])}`;
  }
  return '';
}

/** An error as a plain object: name, location, message, stack, cause (recursively) and its own fields. */
function formatError(error: Error): Record<string, unknown> {
  const { name, message, stack, cause } = error;
  const formatted: Record<string, unknown> = {
    name,
    location: location(stack),
    message,
    stack,
    cause: cause instanceof Error ? formatError(cause) : cause,
  };
  for (const key of Object.keys(error)) {
    if (!['name', 'message', 'stack', 'cause'].includes(key))
      formatted[key] = (error as unknown as Record<string, unknown>)[key];
  }
  return formatted;
}

/** Redaction, then errors as objects, BigInts as strings, and repeated ancestors (cycles) left out. */
function replacer(): (this: unknown, key: string, value: unknown) => unknown {
  const ancestors: unknown[] = [];
  return function (this: unknown, key: string, value: unknown) {
    let replaced = redactingReplacer(key, value);
    if (replaced instanceof Error) replaced = formatError(replaced);
    if (typeof replaced === 'bigint') return replaced.toString();
    if (typeof replaced === 'object' && replaced !== null) {
      while (ancestors.length > 0 && ancestors.at(-1) !== this) ancestors.pop();
      if (ancestors.includes(replaced)) return undefined;
      ancestors.push(replaced);
    }
    return replaced;
  };
}

/** The `Root=` part of Lambda's trace header, when the function runs with tracing. */
function traceId(env: NodeJS.ProcessEnv): string | undefined {
  return env._X_AMZN_TRACE_ID?.split(';')[0]?.replace('Root=', '') || undefined;
}

/** A structured JSON logger writing INFO and below to stdout, WARN and above to stderr. */
export class Logger {
  private threshold: number;
  private readonly warned = new Set<string>();

  constructor(private readonly service: string) {
    this.threshold = LEVELS[levelFromEnvironment(process.env)];
  }

  /** Changes the level from now on (`SILENT`: nothing at all). */
  setLogLevel(level: LogLevel): void {
    this.threshold = LEVELS[level];
  }

  debug(message: string, attributes?: Record<string, unknown> | Error): void {
    this.write('DEBUG', message, attributes);
  }

  info(message: string, attributes?: Record<string, unknown> | Error): void {
    this.write('INFO', message, attributes);
  }

  warn(message: string, attributes?: Record<string, unknown> | Error): void {
    this.write('WARN', message, attributes);
  }

  error(message: string, attributes?: Record<string, unknown> | Error): void {
    this.write('ERROR', message, attributes);
  }

  private write(level: LogLevel, message: string, given: Record<string, unknown> | Error = {}): void {
    if (LEVELS[level] < this.threshold) return;
    const attributes = given instanceof Error ? { error: given } : given;
    const entry: Record<string, unknown> = {
      level,
      message,
      timestamp: new Date().toISOString(),
      service: this.service,
      sampling_rate: 0,
      xray_trace_id: traceId(process.env),
    };
    for (const [key, value] of Object.entries(attributes)) {
      if (RESERVED.has(key)) this.warnOnce(`The key "${key}" is a reserved key and will be dropped.`);
      else entry[key] = value;
    }
    const line = `${JSON.stringify(entry, replacer())}\n`;
    (LEVELS[level] >= LEVELS.WARN ? process.stderr : process.stdout).write(line);
  }

  private warnOnce(message: string): void {
    if (this.warned.has(message)) return;
    this.warned.add(message);
    this.warn(message);
  }
}

/** The one logger of the process, named by the function (`POWERTOOLS_SERVICE_NAME`, set by the stack). */
export const logger = new Logger(process.env.POWERTOOLS_SERVICE_NAME ?? 'keyfleet');
