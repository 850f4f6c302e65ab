import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { ErrorKind, loadConfig, type ConfigSections, type LoadConfigInput } from '@stowage/core';
import { expectStowageError } from '@stowage/core/testing';
import { afterAll, beforeAll, expect } from 'vitest';
import type { CliContext } from '../../src/cli/cli-context.js';

/** What a config test file works with: its temp directory and config files written into it. */
export interface ConfigFixtures {
  /** The temp directory, made before the file's tests and deleted after them. */
  dir(): string;
  /** Writes `content` as JSON to a fresh file and returns its path. */
  configFile(content: unknown): Promise<string>;
}

/** Registers the temp directory of a config test file (`beforeAll`, `afterAll`). */
export function useConfigFixtures(prefix: string): ConfigFixtures {
  let dir: string | undefined;
  let counter = 0;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), prefix));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  const current = () => {
    if (!dir) throw new Error('useConfigFixtures: the directory exists only while the tests run');
    return dir;
  };
  return {
    dir: current,
    async configFile(content) {
      await mkdir(current(), { recursive: true });
      const file = path.join(current(), `config-${++counter}.json`);
      await writeFile(file, JSON.stringify(content));
      return file;
    },
  };
}

/** `loadConfig` with `sections`, and the message of the InvalidArgument it rejects with (failing on anything else). */
export function configLoader<S extends ConfigSections>(sections: S) {
  const load = (input: Omit<LoadConfigInput, 'sections'>) => loadConfig({ ...input, sections });
  const configError = async (input: Omit<LoadConfigInput, 'sections'>): Promise<string> => {
    const { message } = await expectStowageError(load(input), ErrorKind.InvalidArgument);
    expect(message).toMatch(/^config: /);
    return message;
  };
  return { load, configError };
}

/** A CLI context on `env` and `cwd` whose stdout and stderr the test reads back. */
export function capturingCliContext(
  env: NodeJS.ProcessEnv,
  cwd: string,
): CliContext & { out: () => string; err: () => string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  return { stdout, stderr, env, cwd, out: () => out, err: () => err };
}
