// The corpus: small C files, each exercising one feature of the object loader, with the entry
// points a test calls, the flag variants to compile it with, and what gcc is known to emit for
// it (toolchain.test.ts checks those facts against readelf, so a gcc that compiles a file
// differently, a switch into a lookup table for instance, shows up as a corpus failure and not
// as a loader test that quietly stopped testing anything).
//
// Expected results are never here: they come from nativeResults / nativeCalls at test time.

import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NativeCall } from '../helpers/toolchain.js';

const SECTIONS = ['-ffunction-sections', '-fdata-sections'];

/** The gcc flag sets the corpus is compiled with, by name. */
export const VARIANTS = {
  'O0': ['-O0', '-fPIC', ...SECTIONS],
  'O1': ['-O1', '-fPIC', ...SECTIONS],
  'O2': ['-O2', '-fPIC', ...SECTIONS],
  // Calls to exported and external functions through GOT slots (GOTPCRELX), not the PLT.
  'O2-noplt': ['-O2', '-fPIC', '-fno-plt', ...SECTIONS],
  // One .text, .data, .bss and .rodata for the whole file: calls between its own functions are
  // resolved by the assembler, and a jump table points into the one .text.
  'O1-nosections': ['-O1', '-fPIC'],
  // Uninitialised file-scope definitions become COMMON symbols.
  'O2-fcommon': ['-O2', '-fPIC', '-fcommon', ...SECTIONS],
  // Position-independent executable code: its own exported symbols bind locally, so they are
  // reached with PC32 (data too) instead of through the GOT, and TLS is local-exec (TPOFF32).
  'O2-pie': ['-O2', '-fPIE', ...SECTIONS],
  // The large code model: 64-bit offsets from the GOT (GOTPC64, GOTOFF64, GOT64, PLTOFF64) for
  // everything outside the function's own section.
  'O1-large': ['-O1', '-fPIC', '-mcmodel=large', ...SECTIONS],
} as const satisfies Record<string, readonly string[]>;

export type Variant = keyof typeof VARIANTS;
export const ALL_VARIANTS = Object.keys(VARIANTS) as Variant[];
const WITH_SECTIONS: readonly Variant[] = ALL_VARIANTS.filter((v) => v !== 'O1-nosections');

/**
 * A fact about gcc's output, in the form readelf-facts.ts extracts:
 * `section NAME`, `align NAME N` (sh_addralign), `common SYMBOL` (SHN_COMMON),
 * `reloc SECTION TYPE SYMBOL` (a relocation of SECTION, the relocated section, of TYPE against
 * SYMBOL, a symbol's or a section's name).
 */
export type Fact = `section ${string}` | `align ${string} ${number}` | `common ${string}` | `reloc ${string} R_X86_64_${string} ${string}`;

export interface CorpusFile {
  /** Its name in this folder, and its path. */
  readonly file: string;
  readonly path: string;
  /** The loader feature it is there for. */
  readonly exercises: string;
  /** Its `long name(void)` entry points, in the order to call them (once each, on one copy). */
  readonly entries: readonly string[];
  /** The variants to compile and load it in. */
  readonly variants: readonly Variant[];
  /** Corpus files to load before it, which it calls into (and which its native program links). */
  readonly needs?: readonly string[];
  /** Set when the loader must refuse it: what for. */
  readonly refused?: string;
  /** Functions with arguments for the typed call API, with sample calls (nativeCalls takes them). */
  readonly typed?: readonly NativeCall[];
  /** What gcc emits for it, per group of variants. */
  readonly facts?: readonly { readonly variants: readonly Variant[]; readonly facts: readonly Fact[] }[];
}

const here = dirname(fileURLToPath(import.meta.url));

/** Where a file of this folder is. */
export function corpusPath(file: string): string {
  return join(here, file);
}

function entry(file: string, rest: Omit<CorpusFile, 'file' | 'path'>): CorpusFile {
  return { file, path: corpusPath(file), ...rest };
}

export const CORPUS: readonly CorpusFile[] = [
  entry('calls.c', {
    exercises: 'static and exported functions calling each other',
    entries: ['test_static_call', 'test_exported_call', 'test_chain'],
    variants: ALL_VARIANTS,
    facts: [
      { variants: ['O0', 'O1', 'O2'], facts: ['reloc .text.exported_chain R_X86_64_PC32 .text.twice', 'reloc .text.test_exported_call R_X86_64_PLT32 exported_square'] },
      { variants: ['O2-noplt'], facts: ['reloc .text.test_exported_call R_X86_64_GOTPCRELX exported_square'] },
    ],
  }),
  entry('recursion.c', {
    exercises: 'recursion and mutual recursion of a static pair (reference cycles)',
    entries: ['test_fib', 'test_mutual', 'test_collatz'],
    variants: ALL_VARIANTS,
    facts: [{ variants: ['O0', 'O2'], facts: ['reloc .text.test_fib R_X86_64_PLT32 fib', 'reloc .text.is_even R_X86_64_PC32 .text.is_odd', 'reloc .text.is_odd R_X86_64_PC32 .text.is_even'] }],
  }),
  entry('switch.c', {
    exercises: 'a jump table: PC32 entries in .rodata.<fn> pointing into the middle of .text.<fn>',
    entries: ['test_switch'],
    variants: ALL_VARIANTS,
    facts: [
      { variants: WITH_SECTIONS.filter((v) => v !== 'O1-large'), facts: ['reloc .rodata.dispatch R_X86_64_PC32 .text.dispatch', 'reloc .text.dispatch R_X86_64_PC32 .rodata.dispatch'] },
      { variants: ['O1-nosections'], facts: ['reloc .rodata R_X86_64_PC32 .text'] },
      // The large model's table holds 64-bit entries, and the static it updates is reached through GOTOFF64.
      { variants: ['O1-large'], facts: ['reloc .rodata.dispatch R_X86_64_PC64 .text.dispatch', 'reloc .text.dispatch R_X86_64_GOTOFF64 acc'] },
    ],
  }),
  entry('fnptr.c', {
    exercises: 'a const table of function pointers, and pointer equality across functions',
    entries: ['test_table', 'test_equal_static', 'test_equal_exported'],
    variants: ALL_VARIANTS,
    facts: [
      { variants: ['O0', 'O2', 'O2-noplt'], facts: ['reloc .data.rel.ro.table R_X86_64_64 .text.add', 'reloc .data.rel.ro.table R_X86_64_64 exported_max', 'reloc .text.address_of_add R_X86_64_PC32 .text.add', 'reloc .text.address_of_max R_X86_64_REX_GOTPCRELX exported_max'] },
      { variants: ['O2-pie'], facts: ['reloc .text.address_of_max R_X86_64_PC32 exported_max'] },
    ],
  }),
  entry('strings.c', {
    exercises: 'string literals in a mergeable section, reached as section symbol + addend',
    entries: ['test_strings', 'test_same_literal', 'test_words'],
    variants: ALL_VARIANTS,
    facts: [{ variants: ['O1', 'O2'], facts: ['section .rodata.str1.1', 'reloc .data.rel.ro.local.words.0 R_X86_64_64 .rodata.str1.1'] }],
  }),
  entry('common.c', {
    exercises: 'COMMON symbols (-fcommon), allocated by the loader with their alignment',
    entries: ['test_common', 'test_common_aligned'],
    variants: ALL_VARIANTS,
    facts: [{ variants: ['O2-fcommon'], facts: ['common counter', 'common common_table'] }],
  }),
  entry('weak.c', {
    exercises: 'a weak definition, and a weak undefined reference that is 0',
    entries: ['test_weak_defined', 'test_weak_undefined'],
    variants: ALL_VARIANTS,
    facts: [{ variants: ['O1', 'O2'], facts: ['reloc .text.test_weak_undefined R_X86_64_GOTPCREL codeheap_corpus_absent', 'reloc .text.test_weak_defined R_X86_64_PLT32 weak_value'] }],
  }),
  entry('ctors.c', {
    exercises: 'constructors in priority order on load, a destructor on unload (see the file)',
    entries: ['test_ctor_trace', 'test_dtor_value'],
    variants: ALL_VARIANTS,
    facts: [
      { variants: WITH_SECTIONS, facts: ['section .init_array.00101', 'section .init_array', 'section .fini_array'] },
      { variants: ['O0', 'O1'], facts: ['reloc .init_array.00101 R_X86_64_64 .text.first', 'reloc .fini_array R_X86_64_64 .text.finish'] },
      // -O2 moves constructors to .text.startup.* and destructors to .text.exit.*
      { variants: ['O2'], facts: ['reloc .init_array.00101 R_X86_64_64 .text.startup.first', 'reloc .fini_array R_X86_64_64 .text.exit.finish'] },
    ],
  }),
  entry('align.c', {
    exercises: 'globals aligned to 64 bytes, initialised and zeroed',
    entries: ['test_aligned', 'test_aligned_values'],
    variants: ALL_VARIANTS,
    facts: [{ variants: WITH_SECTIONS, facts: ['align .data.aligned_data 64', 'align .bss.aligned_zero 64'] }],
  }),
  entry('libc.c', {
    exercises: 'calls into the C library, a variadic call, the data symbol stderr, errno',
    entries: ['test_malloc', 'test_snprintf', 'test_errno', 'test_stderr'],
    // Not -fPIE: there `stderr` is a PC32 load from libc's own variable, which a linker meets with
    // a copy relocation in the executable; code in the heap, gigabytes from libc, cannot reach it.
    variants: ALL_VARIANTS.filter((v) => v !== 'O2-pie'),
    facts: [
      { variants: ['O0', 'O2'], facts: ['reloc .text.test_malloc R_X86_64_PLT32 memcpy', 'reloc .text.test_snprintf R_X86_64_PLT32 snprintf', 'reloc .text.test_stderr R_X86_64_REX_GOTPCRELX stderr'] },
      { variants: ['O2-noplt'], facts: ['reloc .text.test_malloc R_X86_64_GOTPCRELX malloc'] },
    ],
  }),
  entry('counter.c', {
    exercises: 'static data mutated across calls',
    entries: ['test_counter_first', 'test_counter_second', 'test_counter_third'],
    variants: ALL_VARIANTS,
    facts: [{ variants: ['O2'], facts: ['reloc .text.bump R_X86_64_PC32 .data.base', 'reloc .text.bump R_X86_64_PC32 .bss.calls'] }],
  }),
  entry('tls.c', {
    exercises: 'thread-local storage, which the loader must refuse',
    entries: ['test_tls'],
    variants: ALL_VARIANTS,
    refused: 'thread-local storage (.tbss)',
    facts: [
      { variants: ['O0', 'O2', 'O2-noplt'], facts: ['section .tbss.t', 'reloc .text.test_tls R_X86_64_TLSGD t'] },
      { variants: ['O2-pie'], facts: ['reloc .text.test_tls R_X86_64_TPOFF32 t'] },
    ],
  }),
  entry('private_a.c', {
    exercises: 'a private static and a static function whose names private_b.c uses too',
    entries: ['test_private_a'],
    variants: ALL_VARIANTS,
  }),
  entry('private_b.c', {
    exercises: 'the same private names as private_a.c, other values',
    entries: ['test_private_b'],
    variants: ALL_VARIANTS,
  }),
  entry('caller.c', {
    exercises: 'calls into another loaded object (calls.c)',
    entries: ['test_cross_object'],
    variants: ALL_VARIANTS,
    needs: ['calls.c'],
    facts: [{ variants: ['O2'], facts: ['reloc .text.test_cross_object R_X86_64_PLT32 exported_square'] }],
  }),
  entry('typed.c', {
    exercises: 'typed calls: a negative int, doubles in and out, a caller-provided buffer',
    entries: [],
    variants: ALL_VARIANTS,
    typed: [
      { name: 'minus_one', parameters: [], result: 'i32', args: [] },
      { name: 'scale', parameters: ['f64', 'i32'], result: 'f64', args: [1.5, 3] },
      { name: 'scale', parameters: ['f64', 'i32'], result: 'f64', args: [-0.1, -4] },
      { name: 'scale', parameters: ['f64', 'i32'], result: 'f64', args: [1e300, 31] },
      { name: 'fill', parameters: ['buffer', 'i32'], result: 'i32', args: [{ buffer: 40 }, 40] },
      // The function is told a smaller capacity than the buffer: the bytes past it stay as they were.
      { name: 'fill', parameters: ['buffer', 'i32'], result: 'i32', args: [{ buffer: 8 }, 5] },
      { name: 'fill', parameters: ['buffer', 'i32'], result: 'i32', args: [{ buffer: 0 }, 0] },
    ],
  }),
];

/** A corpus file by name (throws for a name not in the corpus). */
export function corpusFile(file: string): CorpusFile {
  const found = CORPUS.find((f) => f.file === file);
  if (found === undefined) throw new Error(`${file} is not in the corpus`);
  return found;
}
