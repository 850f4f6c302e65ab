import type { Logger } from '@stowage/core';

/** A logger that keeps what it was told, so tests can prove a warning was given. */
export class RecordingLogger implements Logger {
  readonly entries: Array<{ level: string; fields: object; message?: string }> = [];

  debug(fields: object, message?: string): void {
    this.entries.push({ level: 'debug', fields, message });
  }
  info(fields: object, message?: string): void {
    this.entries.push({ level: 'info', fields, message });
  }
  warn(fields: object, message?: string): void {
    this.entries.push({ level: 'warn', fields, message });
  }
  error(fields: object, message?: string): void {
    this.entries.push({ level: 'error', fields, message });
  }
  child(): Logger {
    return this;
  }

  at(level: string): Array<{ fields: object; message?: string }> {
    return this.entries.filter((e) => e.level === level);
  }
}
