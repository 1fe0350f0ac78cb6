// The tiny language: functions of integers, recursion, if-then-else, and tables of function
// pointers called by index. Its syntax, its tree, and an interpreter that says what a program
// means (the tests run every program both ways).
//
//   fn fib(n) = if n < 2 then n else fib(n - 1) + fib(n - 2);
//   fn twice(x) = x * 2;
//   table ops = [fib, twice];
//   fn apply(i, x) = ops[i](x);
//
// Values are 64-bit signed integers (BigInt here, as the machine wraps them); a comparison is 1
// or 0, `if` takes any value but 0 as true. Up to three parameters.

export type Expr =
  | { op: 'int'; value: bigint }
  | { op: 'param'; index: number }
  | { op: '+' | '-' | '*' | '<' | '=='; left: Expr; right: Expr }
  | { op: 'neg'; operand: Expr }
  | { op: 'if'; cond: Expr; then: Expr; else: Expr; line?: number }
  | { op: 'call'; name: string; args: Expr[]; line?: number }
  | { op: 'callTable'; table: string; index: Expr; args: Expr[]; line?: number };

export interface FunctionDecl {
  name: string;
  params: string[];
  body: Expr;
  /** The source line of its `fn` (and of each `if` and call, in them): what a debugger shows. */
  line?: number;
}

export interface Program {
  functions: FunctionDecl[];
  tables: { name: string; entries: string[] }[];
}

export const MAX_PARAMS = 3;

/** Parses a program; throws a SyntaxError naming the line and what was expected. */
export function parse(source: string): Program {
  const tokens = [...source.matchAll(/\s*(?:(\d+)|([A-Za-z_]\w*)|(==|[-+*<=()\[\],;])|(\S))/g)]
    .filter((m) => m[0].trim() !== '')
    .map((m) => {
      const text = (m[1] ?? m[2] ?? m[3] ?? m[4])!;
      // The match begins with the blanks before the token, a line break among them: count to the token itself.
      return { text, line: source.slice(0, m.index + m[0].length - text.length).split('\n').length, bad: m[4] !== undefined };
    });
  let at = 0;
  const fail = (what: string): never => {
    const token = tokens[at];
    throw new SyntaxError(`line ${token?.line ?? 'end'}: expected ${what}, found ${token === undefined ? 'the end' : `'${token.text}'`}`);
  };
  const peek = (): string | undefined => tokens[at]?.text;
  const take = (text?: string): string => {
    const token = tokens[at];
    if (token === undefined || token.bad || (text !== undefined && token.text !== text)) fail(text === undefined ? 'a token' : `'${text}'`);
    at++;
    return token!.text;
  };
  const name = (): string => {
    const text = peek();
    if (text === undefined || !/^[A-Za-z_]\w*$/.test(text) || ['fn', 'table', 'if', 'then', 'else'].includes(text)) fail('a name');
    return take();
  };
  const program: Program = { functions: [], tables: [] };
  let params: string[] = [];

  const expr = (): Expr => {
    if (peek() === 'if') {
      const line = tokens[at]!.line;
      take('if');
      const cond = expr();
      take('then');
      const then = expr();
      take('else');
      return { op: 'if', cond, then, else: expr(), line };
    }
    const left = sum();
    const op = peek();
    if (op === '<' || op === '==') {
      take();
      return { op, left, right: sum() };
    }
    return left;
  };
  const sum = (): Expr => {
    let left = term();
    for (let op = peek(); op === '+' || op === '-'; op = peek()) {
      take();
      left = { op, left, right: term() };
    }
    return left;
  };
  const term = (): Expr => {
    let left = unary();
    while (peek() === '*') {
      take();
      left = { op: '*', left, right: unary() };
    }
    return left;
  };
  const unary = (): Expr => {
    if (peek() !== '-') return primary();
    take('-');
    return { op: 'neg', operand: unary() };
  };
  /** `open` item, item ... `close`, the items separated by commas (none when `empty`). */
  const listOf = <T>(open: string, item: () => T, close: string, empty: boolean): T[] => {
    take(open);
    const list: T[] = [];
    if (!empty || peek() !== close) {
      list.push(item());
      while (peek() === ',') {
        take(',');
        list.push(item());
      }
    }
    take(close);
    return list;
  };
  const args = (): Expr[] => {
    const list = listOf('(', expr, ')', true);
    if (list.length > MAX_PARAMS) fail(`at most ${MAX_PARAMS} arguments`);
    return list;
  };
  const primary = (): Expr => {
    const text = peek();
    if (text !== undefined && /^\d+$/.test(text)) return { op: 'int', value: BigInt.asIntN(64, BigInt(take())) };
    if (text === '(') {
      take('(');
      const inner = expr();
      take(')');
      return inner;
    }
    const line = tokens[at]!.line;
    const id = name();
    if (peek() === '(') return { op: 'call', name: id, args: args(), line };
    if (peek() === '[') {
      take('[');
      const index = expr();
      take(']');
      return { op: 'callTable', table: id, index, args: args(), line };
    }
    const index = params.indexOf(id);
    if (index < 0) fail(`a parameter, a call or a number (${id} is none)`);
    return { op: 'param', index };
  };

  while (at < tokens.length) {
    if (peek() === 'table') {
      take('table');
      const tableName = name();
      take('=');
      const entries = listOf('[', name, ']', false);
      take(';');
      program.tables.push({ name: tableName, entries });
      continue;
    }
    const line = tokens[at]!.line;
    take('fn');
    const fnName = name();
    params = listOf('(', name, ')', true);
    if (params.length > MAX_PARAMS) fail(`at most ${MAX_PARAMS} parameters`);
    take('=');
    const body = expr();
    take(';');
    program.functions.push({ name: fnName, params, body, line });
  }
  return program;
}

/** What a call means: the interpreter the compiled code must agree with. Iterative only in its loop, as programs are small. */
export function interpret(program: Program, name: string, args: readonly bigint[]): bigint {
  const fns = new Map(program.functions.map((f) => [f.name, f]));
  const tables = new Map(program.tables.map((t) => [t.name, t.entries]));
  const call = (fn: string, values: readonly bigint[]): bigint => {
    const decl = fns.get(fn);
    if (decl === undefined) throw new Error(`no function ${fn}`);
    const evaluate = (e: Expr): bigint => {
      switch (e.op) {
        case 'int': return e.value;
        case 'param': return values[e.index] ?? 0n;
        case '+': return BigInt.asIntN(64, evaluate(e.left) + evaluate(e.right));
        case '-': return BigInt.asIntN(64, evaluate(e.left) - evaluate(e.right));
        case '*': return BigInt.asIntN(64, evaluate(e.left) * evaluate(e.right));
        case '<': return evaluate(e.left) < evaluate(e.right) ? 1n : 0n;
        case '==': return evaluate(e.left) === evaluate(e.right) ? 1n : 0n;
        case 'neg': return BigInt.asIntN(64, -evaluate(e.operand));
        case 'if': return evaluate(e.cond) !== 0n ? evaluate(e.then) : evaluate(e.else);
        case 'call': return call(e.name, e.args.map(evaluate));
        case 'callTable': {
          const entries = tables.get(e.table)!;
          const index = Number(evaluate(e.index));
          if (index < 0 || index >= entries.length) throw new RangeError(`${e.table}[${index}] is outside the table`);
          return call(entries[index]!, e.args.map(evaluate));
        }
      }
    };
    return evaluate(decl.body);
  };
  return call(name, args);
}
