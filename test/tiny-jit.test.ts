// The tiny JIT of examples/tiny-jit, run: every program computes what the interpreter of its
// language says, at tier 0 and again once hot functions are recompiled at tier 1; functions are
// compiled on their first call, from inside the call; a table keeps pointing at the same stubs
// while the bodies move; a bad table index is a fault the heap turns into an error; and unloading
// gives back every node. Random programs come from fast-check. On CI it must run.

import { fc, test as propTest } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { CodeHeap, CodeHeapError } from '../src/index.js';
import { isNativeAvailable, nativeMemory } from '../src/native/index.js';
import { HOT, TinyJit } from '../examples/tiny-jit/jit.js';
import { interpret, type Expr } from '../examples/tiny-jit/language.js';

const native = isNativeAvailable();
const mustRun = process.env['CI'] === 'true' && process.platform === 'linux' && process.arch === 'x64'
  && process.env['CODEHEAP_NATIVE'] !== 'off';
if (!native.available) console.warn(`tiny JIT tests skipped: ${native.reason}`);

const newJit = () => new TinyJit(new CodeHeap({ arch: 'x86_64', codeSize: 1 << 20, dataSize: 1 << 16, memory: nativeMemory() }));

const SOURCE = `
  fn fib(n) = if n < 2 then n else fib(n - 1) + fib(n - 2);
  fn square(x) = x * x;
  fn cube(x) = x * square(x);
  table powers = [square, cube];
  fn power(i, x) = powers[i](x);
  fn even(n) = if n == 0 then 1 else odd(n - 1);
  fn odd(n) = if n == 0 then 0 else even(n - 1);
`;

describe.runIf(native.available || mustRun)('the tiny JIT', () => {
  it('runs here', () => {
    expect(native.reason, 'on CI the tiny JIT must run').toBe('');
  });

  it('compiles each function on its first call, recompiles the hot ones, and computes what the interpreter does', () => {
    const jit = newJit();
    const loaded = jit.load(SOURCE);
    expect(jit.compiled).toEqual({ tier0: 0, tier1: 0 });
    expect(jit.run(loaded, 'fib', 15n)).toBe(interpret(loaded.program, 'fib', [15n]));
    // fib compiled once, from inside its own first call; called far more than HOT times: recompiled.
    expect(jit.compiled).toEqual({ tier0: 1, tier1: 1 });
    expect(loaded.tiers.get('fib')).toBe(1);
    expect(jit.calls(loaded, 'fib')).toBeGreaterThanOrEqual(HOT);
    // At tier 1 it counts no more, and still computes the same.
    const counted = jit.calls(loaded, 'fib');
    expect(jit.run(loaded, 'fib', 20n)).toBe(6765n);
    expect(jit.calls(loaded, 'fib')).toBe(counted);
    // Mutual recursion, through lazy functions compiled mid-call.
    expect(jit.run(loaded, 'even', 31n)).toBe(0n);
    expect(jit.run(loaded, 'odd', 31n)).toBe(1n);
    jit.heap.verify();
    jit.unload(loaded);
    expect(jit.heap.stats().nodes.total).toBe(0);
    jit.heap.close();
  });

  it('a table of function pointers keeps its stubs while the functions move; a bad index is a MACHINE_FAULT', () => {
    const jit = newJit();
    const loaded = jit.load(SOURCE);
    const table = loaded.globals.get('powers');
    const entries = () => new BigUint64Array(jit.heap.read(table.address, 16).buffer).join(',');
    for (let i = 0n; i < 3n; i++) expect(jit.run(loaded, 'power', i % 2n, 3n)).toBe(i % 2n === 0n ? 9n : 27n);
    const before = entries();
    const squareAt = jit.heap.node('square')!.address;
    for (let i = 0; i < HOT; i++) jit.run(loaded, 'power', 0n, BigInt(i));
    expect(loaded.tiers.get('square')).toBe(1);
    expect(jit.heap.node('square')!.address, 'the recompiled body is elsewhere').not.toBe(squareAt);
    expect(entries(), 'the table still points at the same stubs').toBe(before);
    expect(jit.run(loaded, 'power', 1n, 4n)).toBe(64n);
    let error: unknown;
    try {
      jit.run(loaded, 'power', 2n, 1n);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(CodeHeapError);
    expect((error as CodeHeapError).message).toMatch(/^call\(power\): SIGILL at power\+0x[0-9a-f]+ /);
    jit.heap.verify();
    jit.unload(loaded);
    expect(jit.heap.stats().nodes.total).toBe(0);
    jit.heap.close();
  });

  // Random programs: functions f0..fk, each calling only those before it (so every call ends).
  const expr = (params: number, callable: number): fc.Arbitrary<Expr> => fc.letrec<{ e: Expr }>((tie) => ({
    e: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.bigInt({ min: -1000n, max: 1000n }).map((value): Expr => ({ op: 'int', value })),
      ...(params > 0 ? [fc.nat(params - 1).map((index): Expr => ({ op: 'param', index }))] : []),
      fc.tuple(fc.constantFrom('+', '-', '*', '<', '==' as const), tie('e'), tie('e')).map(([op, left, right]): Expr => ({ op, left, right })),
      tie('e').map((operand): Expr => ({ op: 'neg', operand })),
      fc.tuple(tie('e'), tie('e'), tie('e')).map(([cond, then, otherwise]): Expr => ({ op: 'if', cond, then, else: otherwise })),
      ...(callable > 0 ? [fc.tuple(fc.nat(callable - 1), fc.array(tie('e'), { minLength: 2, maxLength: 2 }))
        .map(([f, args]): Expr => ({ op: 'call', name: `f${f}`, args }))] : []),
    ),
  })).e;
  const programArb = fc.integer({ min: 1, max: 4 }).chain((count) => fc.tuple(...Array.from({ length: count }, (_, i) => expr(2, i))));

  propTest.prop([programArb, fc.bigInt({ min: -50n, max: 50n }), fc.bigInt({ min: -50n, max: 50n })], { numRuns: 40 })(
    'random programs compute what the interpreter says, at tier 0 and at tier 1',
    (bodies, x, y) => {
      const jit = newJit();
      const program = { functions: bodies.map((body, i) => ({ name: `f${i}`, params: ['a', 'b'], body })), tables: [] };
      const loaded = jit.loadProgram(program);
      const last = `f${bodies.length - 1}`;
      const expected = interpret(program, last, [x, y]);
      expect(jit.run(loaded, last, x, y)).toBe(expected);
      for (let i = 0; i < HOT; i++) jit.run(loaded, last, x, y);
      expect([...loaded.tiers.values()].every((t) => t === 1), 'every function that ran is hot').toBe(true);
      expect(jit.run(loaded, last, x, y)).toBe(expected);
      jit.heap.verify();
      jit.unload(loaded);
      expect(jit.heap.stats().nodes.total).toBe(0);
      jit.heap.close();
    },
  );
});

describe('the tiny language', () => {
  it('says where a program is wrong, by line', async () => {
    const { parse } = await import('../examples/tiny-jit/language.js');
    expect(() => parse('fn f(x) =\n  y;')).toThrow(/^line 2: expected a parameter, a call or a number \(y is none\)/);
    expect(() => parse('fn f(a, b, c, d) = a;')).toThrow(/at most 3 parameters/);
    expect(() => parse('table t = [];')).toThrow(/line 1: expected a name, found '\]'/);
    expect(() => parse('fn f() = 1')).toThrow(/expected ';', found the end/);
    expect(parse('fn f(x) = -x * 2 + 1 < 3;').functions[0]!.body.op).toBe('<');
    // The first token of a line is on that line (the blanks before it, the line break among them, are not).
    expect(() => parse('fn f(x) =\n  x +\n;')).toThrow(/^line 3: expected a name, found ';'/);
  });

  it('gives each body a line table: its `fn`\'s line from the start, its `if`s\' and its calls\' where they are, at both tiers', async () => {
    const { parse } = await import('../examples/tiny-jit/language.js');
    const { compile } = await import('../examples/tiny-jit/emit.js');
    const [fib] = parse('\nfn fib(n) =\n  if n < 2 then n\n  else fib(n - 1) + fib(n - 2);').functions;
    for (const tier of [0, 1] as const) {
      const body = compile(fib!, tier, new Map(), 'fib.tiny');
      const rows = [...body.lines!.rows];
      const lines = rows.filter((_, i) => i % 3 === 2);
      expect(body.lines!.files).toEqual(['fib.tiny']);
      expect(rows[0]).toBe(0);
      // fn (2), if (3), the call fib(n - 1) (4) and back to fn, the call fib(n - 2) (4) and back.
      expect(lines).toEqual([2, 3, 4, 2, 4, 2]);
      // Each call row holds the call instruction (e8) and nothing else: the next row starts after it.
      for (let i = 6; i < rows.length; i += 6) {
        expect(body.code[rows[i]!]).toBe(0xe8);
        expect(rows[i + 3]! - rows[i]!).toBe(5);
      }
    }
    expect(compile(fib!, 0, new Map()).lines).toBeUndefined();
  });
});
