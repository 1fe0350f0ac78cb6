// The main() of the oracle program: C that makes each call of a list in order and prints what it
// returned, and the parser of what it prints. Values cross as text that loses nothing: integers
// in decimal, doubles as their 64 bits in hex (both ways), buffers as hex bytes.

export type ParameterType = 'i32' | 'i64' | 'f64' | 'buffer';
export type ResultType = 'i32' | 'i64' | 'f64' | 'void';

/**
 * One argument as a call list holds it: an i32 or f64 is a number, an i64 a bigint, and a
 * buffer is its size in bytes; the buffer itself starts filled with BUFFER_FILL on both sides,
 * so bytes a function did not write are seen as untouched.
 */
export type Argument = number | bigint | { readonly buffer: number };

/** A call to make: the function's C signature in FFI words, and the arguments. */
export interface NativeCall {
  readonly name: string;
  readonly parameters: readonly ParameterType[];
  readonly result: ResultType;
  readonly args: readonly Argument[];
}

/** What a call gave: its result (i32 and f64 a number, i64 a bigint, void undefined), and each buffer argument's bytes after it, in argument order. */
export interface NativeOutcome {
  readonly result: number | bigint | undefined;
  readonly buffers: readonly Uint8Array[];
}

export const BUFFER_FILL = 0xa5;

const C_TYPE: Readonly<Record<ParameterType | ResultType, string>> = {
  i32: 'int', i64: 'long', f64: 'double', buffer: 'unsigned char*', void: 'void',
};

/** The arguments of a call as a JavaScript FFI takes them: each buffer a new Uint8Array. */
export function freshArguments(call: NativeCall): (number | bigint | Uint8Array)[] {
  return call.args.map((arg) => (typeof arg === 'object' ? new Uint8Array(arg.buffer).fill(BUFFER_FILL) : arg));
}

function literal(type: ParameterType, arg: Argument, where: string): string {
  if (type === 'buffer' || typeof arg === 'object') throw new Error(`${where}: a buffer needs { buffer: size } and type 'buffer'`);
  if (type === 'i64') {
    if (typeof arg !== 'bigint') throw new Error(`${where}: an i64 argument is a bigint, not ${arg}`);
    return `(long)0x${BigInt.asUintN(64, arg).toString(16)}UL`;
  }
  if (typeof arg !== 'number') throw new Error(`${where}: an ${type} argument is a number, not ${arg}n`);
  if (type === 'i32') {
    if (!Number.isInteger(arg) || arg < -(2 ** 31) || arg >= 2 ** 31) throw new Error(`${where}: ${arg} is not an i32`);
    return `(int)${arg}L`;
  }
  const bits = new DataView(new Float64Array([arg]).buffer).getBigUint64(0, true);
  return `f64(0x${bits.toString(16)}UL)`;
}

/** The C program: prototypes, one block per call, a line of output per result and buffer. */
export function mainFor(calls: readonly NativeCall[]): string {
  const prototypes = new Map<string, string>();
  const blocks = calls.map((call, i) => {
    const where = `call ${i} (${call.name})`;
    if (call.args.length !== call.parameters.length) throw new Error(`${where}: ${call.args.length} arguments for ${call.parameters.length} parameters`);
    const prototype = `${C_TYPE[call.result]} ${call.name}(${call.parameters.map((p) => C_TYPE[p]).join(', ') || 'void'});`;
    if ((prototypes.get(call.name) ?? prototype) !== prototype) throw new Error(`${where}: ${prototype} differs from ${prototypes.get(call.name)}`);
    prototypes.set(call.name, prototype);
    const lines: string[] = [];
    const values = call.parameters.map((type, k) => {
      const arg = call.args[k] as Argument;
      if (type !== 'buffer') return literal(type, arg, where);
      if (typeof arg !== 'object' || !Number.isInteger(arg.buffer) || arg.buffer < 0) throw new Error(`${where}: argument ${k} is a buffer, given as { buffer: size }`);
      // One byte more than asked for, so that a size of 0 is still a valid array.
      lines.push(`unsigned char b${k}[${arg.buffer + 1}]; memset(b${k}, ${BUFFER_FILL}, sizeof b${k});`);
      return `b${k}`;
    });
    const callText = `${call.name}(${values.join(', ')})`;
    lines.push(call.result === 'void' ? `${callText}; printf("@codeheap result ${i} void\\n");`
      : call.result === 'f64' ? `printf("@codeheap result ${i} %lx\\n", bits(${callText}));`
      : `printf("@codeheap result ${i} %ld\\n", (long)${callText});`);
    call.parameters.forEach((type, k) => {
      if (type === 'buffer') lines.push(`dump(${i}, ${k}, b${k}, ${(call.args[k] as { buffer: number }).buffer});`);
    });
    return `  { ${lines.join(' ')} }`;
  });
  return [
    '#include <stdio.h>',
    '#include <string.h>',
    'static double f64(unsigned long b) { double d; memcpy(&d, &b, sizeof d); return d; }',
    'static unsigned long bits(double d) { unsigned long b; memcpy(&b, &d, sizeof b); return b; }',
    'static void dump(int call, int arg, const unsigned char* p, unsigned long n) {',
    '  printf("@codeheap buffer %d %d ", call, arg);',
    '  for (unsigned long i = 0; i < n; i++) printf("%02x", p[i]);',
    '  printf("\\n");',
    '}',
    ...prototypes.values(),
    'int main(void) {',
    ...blocks,
    '  return 0;',
    '}',
    '',
  ].join('\n');
}

/** The outcomes in call order, from the program's standard output (other output is ignored). */
export function parseOutput(stdout: string, calls: readonly NativeCall[]): NativeOutcome[] {
  const results = new Map<number, string>();
  const buffers = new Map<string, Uint8Array>();
  for (const match of stdout.matchAll(/@codeheap (result|buffer) (\d+) (\S*)(?: (\S*))?/g)) {
    const [, kind, call, first, second] = match as unknown as [string, string, string, string, string | undefined];
    if (kind === 'result') results.set(Number(call), first);
    else buffers.set(`${call} ${first}`, Uint8Array.from(Buffer.from(second ?? '', 'hex')));
  }
  return calls.map((call, i) => {
    const text = results.get(i);
    if (text === undefined) throw new Error(`the native program printed no result for call ${i} (${call.name}):\n${stdout}`);
    const result = call.result === 'void' ? undefined
      : call.result === 'i64' ? BigInt(text)
      : call.result === 'i32' ? Number(text)
      : new DataView(new BigUint64Array([BigInt(`0x${text}`)]).buffer).getFloat64(0, true);
    const out = call.parameters.flatMap((type, k) => (type === 'buffer' ? [buffers.get(`${i} ${k}`) ?? new Uint8Array()] : []));
    return { result, buffers: out };
  });
}
