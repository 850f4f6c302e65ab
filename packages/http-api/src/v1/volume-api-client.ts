import { ErrorKind, StowageError } from '@stowage/core';
import type * as z from 'zod';
import {
  type ApiBackingList,
  type ApiVolume,
  backingListSchema,
  errorBodySchema,
  mountAnswerSchema,
  volumeListSchema,
  volumeSchema,
} from './api-schemas.js';

/** One API call can wait on a cloud attach; as long as the Docker engine lets a plugin's Mount take. */
const DEFAULT_TIMEOUT_MS = 120_000;

/** Options of {@link VolumeApiClient}. */
export interface VolumeApiClientOptions {
  /** Where the server is: `http://10.0.3.7:9803`, or with a path prefix if a proxy serves it under one. */
  readonly url: string;
  /** Sent as `Authorization: Bearer <token>`; never part of a message. */
  readonly token?: string;
  /** Per call; 2 minutes by default. */
  readonly timeoutMs?: number;
}

/**
 * A call that failed other than with an engine error: no answer came (`status` undefined), or the server refused
 * the request itself (401, 413...), or answered something that is not the API's.
 */
export class VolumeApiCallError extends Error {
  override readonly name = 'VolumeApiCallError';

  constructor(
    readonly status: number | undefined,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * A client of a Stowage node's /v1 volume API. An engine error the server answers is thrown as the same
 * {@link StowageError} (kind and message), so a caller handles a remote engine as it handles one in process;
 * anything else is a {@link VolumeApiCallError}. Every answer is checked against the API's schemas.
 */
export class VolumeApiClient {
  private readonly base: URL;
  private readonly timeoutMs: number;

  /** Refuses (InvalidArgument) a URL that is not http(s), or that carries credentials, a query or a fragment. */
  constructor(private readonly options: VolumeApiClientOptions) {
    this.base = parseApiUrl(options.url);
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  /** The server's URL as given, for messages. */
  get url(): string {
    return this.base.href.replace(/\/$/, '');
  }

  async list(): Promise<ApiVolume[]> {
    return (await this.call('GET', 'v1/volumes', undefined, volumeListSchema)).volumes;
  }

  /** The volume; NotFound when no backing has it. */
  async get(name: string): Promise<ApiVolume> {
    return this.call('GET', volumePath(name), undefined, volumeSchema);
  }

  /** Creates the volume (`options` may hold `backing`), or answers the existing one made with the same options. */
  async create(name: string, options: Readonly<Record<string, string>> = {}): Promise<ApiVolume> {
    return this.call('POST', 'v1/volumes', { name, options }, volumeSchema);
  }

  async remove(name: string): Promise<void> {
    await this.call('DELETE', volumePath(name), undefined, undefined);
  }

  /** Mounts the volume for `caller` on the server's node and answers its path there. */
  async mount(name: string, caller: string): Promise<string> {
    return (await this.call('POST', `${volumePath(name)}/mount`, { caller }, mountAnswerSchema)).mountpoint;
  }

  async unmount(name: string, caller: string): Promise<void> {
    await this.call('POST', `${volumePath(name)}/unmount`, { caller }, undefined);
  }

  async backings(): Promise<ApiBackingList> {
    return this.call('GET', 'v1/backings', undefined, backingListSchema);
  }

  private async call<S extends z.ZodType | undefined>(
    method: string,
    path: string,
    body: unknown,
    schema: S,
  ): Promise<S extends z.ZodType ? z.infer<S> : undefined> {
    const target = new URL(path, this.base);
    const what = `${method} ${target.pathname}`;
    let response: Response;
    let text: string;
    try {
      response = await fetch(target, {
        method,
        headers: {
          Accept: 'application/json',
          ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
          ...(this.options.token === undefined ? {} : { Authorization: `Bearer ${this.options.token}` }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.timeoutMs),
        redirect: 'error',
      });
      text = await response.text();
    } catch (error) {
      throw new VolumeApiCallError(
        undefined,
        `cannot reach the Stowage API at ${this.url}: ${transportReason(error, this.timeoutMs)}`,
        {
          cause: error,
        },
      );
    }
    const decoded = parseJson(text);
    if (!response.ok) throw this.failure(what, response.status, decoded);
    if (schema === undefined) return undefined as never;
    const parsed = schema.safeParse(decoded);
    if (!parsed.success) {
      throw new VolumeApiCallError(
        response.status,
        `the server at ${this.url} answered ${what} with something that is not the Stowage API's answer`,
      );
    }
    return parsed.data as never;
  }

  private failure(what: string, status: number, decoded: unknown): Error {
    const body = errorBodySchema.safeParse(decoded);
    if (body.success && body.data.kind !== undefined && status !== 401) {
      return new StowageError(body.data.kind as ErrorKind, body.data.error);
    }
    const reason = body.success ? `: ${body.data.error}` : '';
    return new VolumeApiCallError(status, `the Stowage API at ${this.url} refused ${what} (HTTP ${status})${reason}`);
  }
}

function volumePath(name: string): string {
  return `v1/volumes/${encodeURIComponent(name)}`;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function transportReason(error: unknown, timeoutMs: number): string {
  if (error instanceof DOMException && error.name === 'TimeoutError') {
    return `no answer within ${Math.round(timeoutMs / 1000)} s`;
  }
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message;
}

/** `http(s)://host[:port][/prefix]`, with a trailing slash so relative paths land under the prefix. */
function parseApiUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw StowageError.invalidArgument(
      `API URL ${JSON.stringify(url)} is not a URL; give one such as http://10.0.3.7:9803`,
    );
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw StowageError.invalidArgument(`API URL must be http:// or https://, got ${parsed.protocol}//`);
  }
  if (parsed.username !== '' || parsed.password !== '') {
    // Not echoed: what it carries is a secret.
    throw StowageError.invalidArgument('API URL must not carry credentials; give the token in a token file');
  }
  if (parsed.search !== '' || parsed.hash !== '') {
    throw StowageError.invalidArgument(`API URL must have no query or fragment: ${parsed.origin}${parsed.pathname}`);
  }
  if (!parsed.pathname.endsWith('/')) parsed.pathname += '/';
  return parsed;
}
