// One executor process as the host holds it: its pid, its socket, its resolver's address, and
// whether it is still there. Every exchange goes through the addon (native/executor-host.c),
// which blocks until the executor answers; what the addon reports of a lost executor becomes
// EXECUTOR_LOST here, with how the process ended (it is reaped at once: no zombie is left).

import { constants } from 'node:os';
import { CodeHeapError } from '../errors.js';
import type { ExecutorAddon } from '../native/addon.js';
import type { RegisterValue, ResolveLazy } from '../heap/region.js';

/** Message types of native/executor-protocol.h. */
export const MSG = { MAP: 1, SPAN: 2, CALL: 3, DLSYM: 5, DLOPEN: 6, PROTECT: 7, UNMAP: 8, WRITE: 9, READ: 10, WATCH: 11, WATCHED: 12, OK: 101, ERROR: 102, ADDRESS: 103 } as const;

/** The result kind of a plain call (i64: RESULT_KINDS in native-signature.ts). */
const RESULT_I64 = 7;

/** What the addon throws of a lost executor. */
interface LostError extends Error {
  readonly code: 'EXECUTOR_LOST';
  readonly reason: 'closed' | 'timeout' | 'protocol' | 'fault';
  readonly signal?: string;
}

function isLost(error: unknown): error is LostError {
  return error instanceof Error && (error as { code?: unknown }).code === 'EXECUTOR_LOST' && !(error instanceof CodeHeapError);
}

/** SIGSEGV for 11: what a signal's number is called (looked up when an executor ends: rarely). */
function signalName(signal: number): string {
  return Object.entries(constants.signals).find(([, number]) => number === signal)?.[0] ?? `signal ${signal}`;
}

/** Where an executor is: a process of this machine started here, or one at the end of a TCP connection. */
export interface ExecutorEndpoint {
  /** The local process (killed and reaped here), or 0 for a remote one (let go when its connection closes). */
  readonly pid: number;
  /** Its pid where it runs. */
  readonly remotePid: number;
  readonly fd: number;
  readonly resolverAddress: number;
  /** How messages name it: `(pid 123)`, `(127.0.0.1:4000, pid 123 there)`. */
  readonly name: string;
}

/** An executor started on this machine with its end of a socket pair. */
export function spawnEndpoint(addon: ExecutorAddon, path: string, timeoutMs: number): ExecutorEndpoint {
  try {
    const [pid, fd, resolverAddress] = addon.executorSpawn(path, timeoutMs < 0 ? 10_000 : timeoutMs);
    return { pid, remotePid: pid, fd, resolverAddress, name: `(pid ${pid})` };
  } catch (error) {
    throw new CodeHeapError('EXECUTOR_LOST', `spawnExecutor: the executor ${path} did not start: ${(error as Error).message}`, { cause: error });
  }
}

/** A connection to an executor listening at host:port (codeheap_executor --listen). */
export function connectEndpoint(addon: ExecutorAddon, host: string, port: number, timeoutMs: number): ExecutorEndpoint {
  try {
    const [fd, resolverAddress, remotePid] = addon.executorConnect(host, port, timeoutMs < 0 ? 10_000 : timeoutMs);
    return { pid: 0, remotePid, fd, resolverAddress, name: `(${host}:${port}, pid ${remotePid} there)` };
  } catch (error) {
    throw new CodeHeapError('EXECUTOR_LOST', `connectExecutor: no executor answered at ${host}:${port}: ${(error as Error).message}`, { cause: error });
  }
}

export class ExecutorProcess {
  readonly pid: number;
  readonly resolverAddress: number;
  readonly #fd: number;
  readonly #name: string;
  /** The local process's pid, or 0 for a remote executor. */
  readonly #local: number;
  /** Why it is gone (a CodeHeapError for every call after), or undefined while it runs. */
  #lost: CodeHeapError | undefined;

  constructor(private readonly addon: ExecutorAddon, endpoint: ExecutorEndpoint, private readonly timeoutMs: number) {
    this.pid = endpoint.remotePid;
    this.#fd = endpoint.fd;
    this.resolverAddress = endpoint.resolverAddress;
    this.#name = endpoint.name;
    this.#local = endpoint.pid;
  }

  /** A message that has no answer (WRITE). */
  send(what: string, type: number, payload: Uint8Array): void {
    this.#check(what);
    try {
      this.addon.executorSend(this.#fd, type, payload);
    } catch (error) {
      throw this.#ended(what, error);
    }
  }

  get alive(): boolean {
    return this.#lost === undefined;
  }

  /** One request; its reply's type and payload. ERROR replies are returned, not thrown. */
  request(what: string, type: number, payload?: Uint8Array, passFd?: number): { type: number; payload: Uint8Array } {
    this.#check(what);
    try {
      // -1: no descriptor goes with the payload.
      const [replyType, reply] = this.addon.executorRequest(this.#fd, this.#local, this.timeoutMs, type, payload, passFd ?? -1);
      return { type: replyType, payload: reply };
    } catch (error) {
      throw this.#ended(what, error);
    }
  }

  /** A request that must be answered OK; `refused` names what an ERROR means to the caller. */
  expectOk(what: string, type: number, payload: Uint8Array | undefined, code: CodeHeapError['code'], passFd?: number): void {
    const reply = this.request(what, type, payload, passFd);
    if (reply.type === MSG.OK) return;
    if (reply.type !== MSG.ERROR) throw this.#broken(what, reply.type);
    const text = new TextDecoder().decode(reply.payload.subarray(4));
    throw new CodeHeapError(code, `${what}: the executor ${this.#name} refused: ${text}`);
  }

  /** A request answered with an address (0: none). */
  address(what: string, type: number, payload: Uint8Array): number {
    const reply = this.request(what, type, payload);
    if (reply.type !== MSG.ADDRESS || reply.payload.length < 8) throw this.#broken(what, reply.type);
    const view = new DataView(reply.payload.buffer, reply.payload.byteOffset, 8);
    return view.getUint32(0, true) + view.getUint32(4, true) * 2 ** 32;
  }

  /** A plain call: rax as a signed BigInt. */
  call(what: string, address: number, resolve: ResolveLazy, args: readonly (number | bigint)[]): bigint {
    return this.callTyped(what, address, resolve, RESULT_I64, undefined, args) as bigint;
  }

  callTyped(
    what: string, address: number, resolve: ResolveLazy, result: number, floats: Float64Array | undefined, ints: readonly RegisterValue[],
  ): number | bigint | undefined {
    this.#check(what);
    try {
      return this.addon.executorCall(this.#fd, this.#local, this.timeoutMs, resolve, address, result, floats, ...ints);
    } catch (error) {
      throw this.#ended(what, error);
    }
  }

  /** Ends the executor: its socket closed (it exits), then killed and reaped. */
  end(why: string): void {
    if (this.#lost !== undefined) return;
    this.#lost = new CodeHeapError('EXECUTOR_LOST', `the executor ${this.#name} was ended: ${why}`);
    this.addon.executorClose(this.#fd);
    this.#reap(true);
  }

  /** A local executor killed (when `kill`) and reaped: [exit status, signal]; a remote one is let go. */
  #reap(kill: boolean): [number, number] {
    if (this.#local <= 0) return [-1, 0];
    if (kill) this.addon.executorKill(this.#local);
    return this.addon.executorReap(this.#local);
  }

  #check(what: string): void {
    if (this.#lost !== undefined) {
      throw new CodeHeapError('EXECUTOR_LOST', `${what}: ${this.#lost.message}; respawn() gives the heap a new executor`, { cause: this.#lost });
    }
  }

  /** It answered what the request cannot take: ended (#ended kills and reaps it) as after a protocol error. */
  #broken(what: string, type: number): Error {
    return this.#ended(what, Object.assign(new Error(`it answered with message type ${type}`), { code: 'EXECUTOR_LOST', reason: 'protocol' }));
  }

  /**
   * The executor is gone: reaped, with how it ended in the message. A fault's error is given back
   * as the addon made it (its pc and registers), with `ended` added: the heap names the function
   * it was in (native-fault.ts). Anything else that is not the executor's loss is itself.
   */
  #ended(what: string, error: unknown): Error {
    if (!isLost(error)) return error as Error;
    this.addon.executorClose(this.#fd);
    const [status, signal] = this.#reap(error.reason !== 'timeout' && error.reason !== 'fault');
    const how = error.reason === 'fault' ? `died of ${error.signal ?? 'a fault'}` : signal !== 0 ? `died of ${signalName(signal)}`
      : status >= 0 ? `exited with status ${status}` : this.#local > 0 ? 'ended' : 'closed the connection';
    const ended = error.reason === 'timeout' ? `${this.#name} ${error.message.replace(/^the executor \((pid \d+|remote)\) /, '')}`
      : `${this.#name} ${how}${error.reason === 'protocol' ? ` after a protocol error (${error.message})` : ''}`;
    this.#lost = new CodeHeapError('EXECUTOR_LOST', `the executor ${ended}`);
    if (error.reason === 'fault') return Object.assign(error, { ended: `the executor ${ended}` });
    return new CodeHeapError('EXECUTOR_LOST', `${what}: the executor ${ended}; respawn() gives the heap a new executor`, { cause: error });
  }
}
