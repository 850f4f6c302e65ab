import type { Logger } from '../../src/index.js';

export interface LogLine {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly fields: Record<string, unknown>;
  readonly message: string | undefined;
}

/** A logger that keeps what it is told, for tests of what an operator is told when something goes wrong. */
export class RecordingLogger implements Logger {
  readonly lines: LogLine[] = [];

  debug(fields: object, message?: string): void {
    this.lines.push({ level: 'debug', fields: { ...fields }, message });
  }
  info(fields: object, message?: string): void {
    this.lines.push({ level: 'info', fields: { ...fields }, message });
  }
  warn(fields: object, message?: string): void {
    this.lines.push({ level: 'warn', fields: { ...fields }, message });
  }
  error(fields: object, message?: string): void {
    this.lines.push({ level: 'error', fields: { ...fields }, message });
  }
  child(): Logger {
    return this;
  }

  /** The warnings and errors, which an operator acts on. */
  problems(): LogLine[] {
    return this.lines.filter((line) => line.level === 'warn' || line.level === 'error');
  }
}
