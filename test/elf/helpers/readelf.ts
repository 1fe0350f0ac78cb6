// What gcc put in an object, read by binutils' readelf (installed wherever gcc is, which needs its
// assembler): an independent reader, so the corpus's claims are not checked by the loader's own
// parser. The facts are the strings corpus/index.ts writes (its Fact type).

import { execFileSync } from 'node:child_process';

export interface ObjectSummary {
  /** `section NAME`, `align NAME N`, `common SYMBOL`, `reloc SECTION TYPE SYMBOL`. */
  readonly facts: ReadonlySet<string>;
  /** Global and weak symbols the object defines, and those it leaves undefined. */
  readonly defined: ReadonlySet<string>;
  readonly undefined: ReadonlySet<string>;
}

export function summarize(objectPath: string): ObjectSummary {
  const text = execFileSync('readelf', ['-W', '-S', '-s', '-r', objectPath], { encoding: 'utf8', maxBuffer: 256 << 20 });
  const facts = new Set<string>();
  const defined = new Set<string>();
  const undefinedSymbols = new Set<string>();
  let relocated: string | undefined;
  for (const line of text.split('\n')) {
    // "  [ 6] .init_array.00101 INIT_ARRAY  0000000000000000 000058 000008 08  WA  0   0  8"
    const section = /^\s*\[\s*\d+\]\s+(\S+)\s+[A-Z_]+\s.*\s(\d+)\s*$/.exec(line);
    if (section !== null) {
      facts.add(`section ${section[1]}`).add(`align ${section[1]} ${section[2]}`);
      continue;
    }
    const heading = /^Relocation section '\.rela(\S*)'/.exec(line);
    if (heading !== null) {
      relocated = heading[1];
      continue;
    }
    // "0000000000000010  0000000500000002 R_X86_64_PC32  0000000000000000 .rodata.dispatch - 4"
    const relocation = /^[0-9a-f]{16}\s+[0-9a-f]{16}\s+(R_X86_64_\w+)\s+[0-9a-f]{16}\s+(\S+)/.exec(line);
    if (relocation !== null && relocated !== undefined) {
      facts.add(`reloc ${relocated} ${relocation[1]} ${relocation[2]}`);
      continue;
    }
    // "     8: 0000000000000004     4 OBJECT  GLOBAL DEFAULT  COM counter"
    const symbol = /^\s*\d+:\s+[0-9a-f]+\s+\S+\s+\w+\s+(GLOBAL|WEAK)\s+\w+\s+(\w+)\s+(\S+)/.exec(line);
    if (symbol !== null) {
      const [, , index, name] = symbol as unknown as [string, string, string, string];
      if (index === 'UND') undefinedSymbols.add(name);
      else defined.add(name);
      if (index === 'COM') facts.add(`common ${name}`);
    }
  }
  return { facts, defined, undefined: undefinedSymbols };
}
