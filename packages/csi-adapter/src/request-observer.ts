import { ServerInterceptingCall, type ServerInterceptor, type status } from '@grpc/grpc-js';

/** Told of every call the plugin answered: its CSI method (`CreateVolume`), gRPC status code and time taken. */
export type CsiRequestObserver = (method: string, code: status, seconds: number) => void;

/**
 * A server interceptor that reports each call to `observe` as its status goes out. An interceptor rather than a step of
 * each handler, so every method is seen, the ones answered UNIMPLEMENTED and the ones added later included.
 */
export function observingInterceptor(observe: CsiRequestObserver): ServerInterceptor {
  return (method, call) => {
    const started = process.hrtime.bigint();
    // `/csi.v1.Controller/CreateVolume`: CSI's method names are unique across its three services.
    const name = method.path.slice(method.path.lastIndexOf('/') + 1);
    return new ServerInterceptingCall(call, {
      sendStatus(sent, next) {
        observe(name, sent.code, Number(process.hrtime.bigint() - started) / 1e9);
        next(sent);
      },
    });
  };
}
