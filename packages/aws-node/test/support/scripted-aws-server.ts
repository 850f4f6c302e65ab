import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One HTTP answer of the stand-in. */
export interface ScriptedAnswer {
  readonly status: number;
  readonly body: string;
  readonly contentType?: string;
}

/** A loopback HTTP server standing in for an AWS endpoint: it answers each request with the next answer of a script. */
export interface ScriptedAwsServer {
  readonly endpoint: string;
  /** Each request's body, in order. */
  readonly requests: string[];
  /** Answers for the next requests, in order; once used up, the last one is answered again. */
  script(...answers: ScriptedAnswer[]): void;
  stop(): Promise<void>;
}

export async function startScriptedAwsServer(): Promise<ScriptedAwsServer> {
  const requests: string[] = [];
  let answers: ScriptedAnswer[] = [];
  let last: ScriptedAnswer = { status: 500, body: 'no answer scripted' };
  const server = createServer((request, response) => {
    void readBody(request).then((body) => {
      requests.push(body);
      const answer = answers.shift() ?? last;
      last = answer;
      response.writeHead(answer.status, {
        'content-type': answer.contentType ?? 'text/xml',
        'content-length': Buffer.byteLength(answer.body),
      });
      response.end(answer.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    script(...next) {
      answers = [...next];
    },
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** EC2's answer (query protocol, XML) for an error `code`. */
export function ec2Error(status: number, code: string, message: string): ScriptedAnswer {
  return {
    status,
    body: `<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>${code}</Code><Message>${message}</Message></Error></Errors><RequestID>req-1</RequestID></Response>`,
  };
}

/** EC2's DescribeVolumes answer with one volume in `state`. */
export function describedVolume(volumeId: string, state: string): ScriptedAnswer {
  return {
    status: 200,
    body: `<DescribeVolumesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>req-ok</requestId><volumeSet><item><volumeId>${volumeId}</volumeId><status>${state}</status></item></volumeSet></DescribeVolumesResponse>`,
  };
}
