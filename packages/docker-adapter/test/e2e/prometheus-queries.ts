import { waitUntil, type PrometheusServer } from '@stowage/testkit/docker';

// Prometheus scrapes every second in these tests; this bounds only a scrape that never lands.
const SCRAPED_WITHIN_MS = 60_000;

/** What a test reads back through a real Prometheus' query API, as an operator's dashboard would. */
export interface PrometheusQueries {
  /** The single value of an instant query, or undefined while Prometheus has no such series. */
  valueOf(promql: string): Promise<number | undefined>;
  /** Polls Prometheus until `promql`'s value passes `accept`; resolves with that value. */
  scraped(promql: string, accept: (value: number) => boolean): Promise<number>;
}

/**
 * Queries on `prometheus`; a wait that times out says the last value, the targets' health and where the logs are
 * (`logFiles`, asked only then).
 */
export function prometheusQueries(prometheus: PrometheusServer, logFiles: () => readonly string[]): PrometheusQueries {
  const valueOf = async (promql: string): Promise<number | undefined> => {
    const samples = await prometheus.query(promql);
    if (samples.length > 1) throw new Error(`${promql}: ${samples.length} series, expected at most one`);
    return samples[0]?.value;
  };
  const scraped = (promql: string, accept: (value: number) => boolean): Promise<number> => {
    let last: number | undefined;
    return waitUntil(
      `Prometheus to show ${promql} as wanted`,
      async () => {
        last = await valueOf(promql);
        return last !== undefined && accept(last) ? last : undefined;
      },
      {
        timeoutMs: SCRAPED_WITHIN_MS,
        intervalMs: 250,
        describe: async () =>
          `last value: ${last}; targets: ${JSON.stringify(await prometheus.targets())}\n` +
          `(logs: ${[prometheus.logFile, ...logFiles()].join(', ')})`,
      },
    );
  };
  return { valueOf, scraped };
}
