/**
 * The log levels and formats as plain values, apart from pino-logger.ts so the
 * CLI can list and check them in `--help` and flag parsing without loading pino.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error', 'silent'];

export type LogFormat = 'krakend' | 'pino';
export const LOG_FORMATS: readonly LogFormat[] = ['krakend', 'pino'];

export const isLogLevel = (value: unknown): value is LogLevel => LOG_LEVELS.includes(value as LogLevel);
export const isLogFormat = (value: unknown): value is LogFormat => LOG_FORMATS.includes(value as LogFormat);
