#!/usr/bin/env node
// inversify reads decorator metadata as modules load: this must come before anything that imports @stowage/core.
import 'reflect-metadata';
import { hideBin } from 'yargs/helpers';
import { runCli } from './program.js';

const status = await runCli(
  { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() },
  hideBin(process.argv),
);
process.exitCode = status;
// A driver that leaves a timer or socket open must not keep a finished command alive; this timer does not keep
// the process alive by itself (unref), so a clean exit is not delayed.
setTimeout(() => process.exit(status), 2_000).unref();
