import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { findTool } from './find-tool.js';
import { freePort } from './free-port.js';
import { logFile, logTail } from './log-files.js';
import { StopWaiting, waitUntil } from './wait-until.js';

const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 20_000;

/** One scrape job of {@link PrometheusServer}: a single target. */
export interface ScrapeJob {
  readonly job: string;
  /** `host:port` */
  readonly target: string;
  /** Sent as `Authorization: Bearer <file's content>` (Prometheus' `authorization.credentials_file`). */
  readonly bearerTokenFile?: string;
  readonly metricsPath?: string;
}

export interface PrometheusOptions {
  /** Names the log file (`prometheus-<label>.log`). */
  readonly label: string;
  readonly jobs: readonly ScrapeJob[];
  readonly scrapeIntervalSeconds?: number;
}

/** One series of an instant query's answer, its value parsed (`NaN`, `+Inf` included). */
export interface PrometheusSample {
  readonly metric: Readonly<Record<string, string>>;
  readonly value: number;
}

interface QueryAnswer {
  readonly status: string;
  readonly error?: string;
  readonly data?: {
    readonly resultType: string;
    readonly result: ReadonlyArray<{ metric: Record<string, string>; value: [number, string] }>;
  };
}

/**
 * A real Prometheus (the `prometheus` binary, Debian's package) on a loopback port of its own, with a temp config
 * and TSDB directory, scraping the given jobs. Tests read what it scraped through its HTTP query API, as an operator's
 * dashboards do.
 */
export class PrometheusServer {
  private exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private exited: Promise<void>;

  private constructor(
    private readonly child: ChildProcess,
    /** `http://127.0.0.1:<port>` */
    readonly url: string,
    /** The temp directory holding the config and the TSDB. */
    readonly dir: string,
    readonly logFile: string,
  ) {
    this.exited = new Promise((resolve) => {
      const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
        this.exit ??= { code, signal };
        resolve();
      };
      child.once('exit', onExit);
      child.once('error', () => onExit(null, null));
    });
  }

  static async start(options: PrometheusOptions): Promise<PrometheusServer> {
    const binary = await findTool('prometheus');
    if (!binary)
      throw new Error("prometheus not found: install Debian's prometheus package (bash scripts/dev.sh setup does)");
    const dir = await mkdtemp('/tmp/stowage-e2e-prometheus-');
    const log = logFile(`prometheus-${options.label}.log`);
    writeFileSync(log, '');
    try {
      const interval = `${options.scrapeIntervalSeconds ?? 1}s`;
      const config = {
        global: { scrape_interval: interval, evaluation_interval: interval },
        scrape_configs: options.jobs.map((job) => ({
          job_name: job.job,
          metrics_path: job.metricsPath ?? '/metrics',
          scrape_timeout: interval,
          static_configs: [{ targets: [job.target] }],
          ...(job.bearerTokenFile ? { authorization: { type: 'Bearer', credentials_file: job.bearerTokenFile } } : {}),
        })),
      };
      // JSON is YAML: no YAML writer needed.
      const configFile = join(dir, 'prometheus.yml');
      await writeFile(configFile, `${JSON.stringify(config, null, 2)}\n`);
      const port = await freePort();
      const fd = openSync(log, 'a');
      let child: ChildProcess;
      try {
        child = spawn(
          binary,
          [
            `--config.file=${configFile}`,
            `--storage.tsdb.path=${join(dir, 'data')}`,
            `--web.listen-address=127.0.0.1:${port}`,
          ],
          { stdio: ['ignore', fd, fd] },
        );
      } finally {
        closeSync(fd);
      }
      const server = new PrometheusServer(child, `http://127.0.0.1:${port}`, dir, log);
      try {
        await waitUntil(
          `prometheus to be ready on ${server.url}`,
          async () => {
            if (server.exit) {
              throw new StopWaiting(`prometheus exited at start-up (code ${server.exit.code})\n${await logTail(log)}`);
            }
            const answer = await fetch(`${server.url}/-/ready`);
            return answer.ok ? true : undefined;
          },
          { timeoutMs: START_TIMEOUT_MS, intervalMs: 200, describe: () => logTail(log) },
        );
      } catch (error) {
        await server.stop().catch(() => undefined);
        throw error;
      }
      return server;
    } catch (error) {
      await rm(dir, { recursive: true, force: true });
      throw error;
    }
  }

  /** An instant query (`/api/v1/query`) whose answer is a vector; rejects with Prometheus' error otherwise. */
  async query(promql: string): Promise<PrometheusSample[]> {
    const answer = await fetch(`${this.url}/api/v1/query?${new URLSearchParams({ query: promql })}`);
    const body = (await answer.json()) as QueryAnswer;
    if (body.status !== 'success' || body.data?.resultType !== 'vector') {
      throw new Error(`query ${promql}: ${answer.status} ${body.error ?? JSON.stringify(body)}`);
    }
    return body.data.result.map(({ metric, value }) => ({ metric, value: Number(value[1]) }));
  }

  /** The scrape targets' health as Prometheus sees it (`/api/v1/targets`): job, health and last error. */
  async targets(): Promise<Array<{ job: string; health: string; lastError: string }>> {
    const answer = await fetch(`${this.url}/api/v1/targets`);
    const body = (await answer.json()) as {
      data?: { activeTargets?: Array<{ labels: Record<string, string>; health: string; lastError: string }> };
    };
    return (body.data?.activeTargets ?? []).map((t) => ({
      job: t.labels.job ?? '',
      health: t.health,
      lastError: t.lastError,
    }));
  }

  /** SIGTERM (SIGKILL after a while), then removes the config and the TSDB; the log stays. */
  async stop(): Promise<void> {
    if (!this.exit) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await this.exited;
      clearTimeout(timer);
    }
    await rm(this.dir, { recursive: true, force: true });
  }
}
