// The slots of the public API that hostile recipes fill: every argument position and every nested
// field, each with its valid value and named alternatives (plausible values that are wrong, or
// right in an unusual way: a Buffer, a view at an offset, a resizable buffer's length-tracking view).
//
// Valid function code is 16 bytes with two relocation fields; valid global data is two quads:
//
//   code  +0  E8 d32          call rel32       field +1, R_X86_64_PLT32 -> g, addend -4
//         +5  48 B8 imm64     mov rax, imm64   field +7, R_X86_64_64    -> v
//         +15 C3              ret
//   data  +0  quad            R_X86_64_64 -> f (its stub)
//         +8  quad            R_X86_64_64 -> g

import { arrayBufferMemory, Handle, Pin, type ArenaLayout } from '../../src/index.js';
import { ABSENT, hostile, resizableBuffer, type Ctx, type Slot } from './hostile.values.js';

export const CODE_ADDRESS = 0x4000_0000;
export const CODE_SIZE = 16 * 1024;
export const DATA_SIZE = 8 * 1024;
export const DATA_ADDRESS = CODE_ADDRESS + CODE_SIZE;
/** Where resolveExternal puts 'ext' (in rel32 reach of the heap) and 'far' (out of it). */
export const EXT_ADDRESS = 0x2000;
export const FAR_ADDRESS = 2 ** 40;

export const CODE_BYTES: readonly number[] = [0xe8, 0, 0, 0, 0, 0x48, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0xc3];
const DATA_BYTES: readonly number[] = new Array<number>(16).fill(0x11);

const VALID_RELOCATIONS = {
  code: [
    { offset: 1, type: 'R_X86_64_PLT32', symbol: 'g', addend: -4 },
    { offset: 7, type: 'R_X86_64_64', symbol: 'v' },
  ],
  data: [
    { offset: 0, type: 'R_X86_64_64', symbol: 'f' },
    { offset: 8, type: 'R_X86_64_64', symbol: 'g' },
  ],
} as const;

/** Names the fixture and the name slot use; with the leaves' strings, every name a run can give. */
export const NAME_ALTS = {
  f: 'f', g: 'g', v: 'v', lazy: 'lazy', canary: 'canary', dcanary: 'dcanary', hole: 'hole', n0: 'n0',
  ext: 'ext', stubName: 'stub(f)', retiredName: 'f (retired)', proto: '__proto__', ctor: 'constructor',
} as const;
export const FRESH_NAMES = ['n0', 'n1', 'n2', 'n3', 'n4', 'n5'] as const;
/** Strings a recipe can produce where a name goes; '' may never name a node. */
export const KNOWN_NAMES: readonly string[] = [...new Set([...Object.values(NAME_ALTS), ...FRESH_NAMES, 'dhole', 'x', '16', 'junk'])];
export const INVALID_NAMES: readonly string[] = [''];

const constants = <T extends Record<string, unknown>>(values: T): Record<keyof T & string, () => unknown> =>
  Object.fromEntries(Object.entries(values).map(([k, v]) => [k, () => v])) as Record<keyof T & string, () => unknown>;

const slot = (what: string, valid: (ctx: Ctx) => unknown, alts?: Record<string, (ctx: Ctx) => unknown>): Slot =>
  (alts === undefined ? { what, valid } : { what, valid, alts });

// ---- bytes ----

function bytesSlot(what: string, bytes: readonly number[], tooBig: number): Slot {
  return slot(what, () => Uint8Array.from(bytes), {
    lengthTrackingResizable: (ctx) => {
      const buffer = resizableBuffer(16, 4096);
      ctx.resizable.push(buffer);
      const view = new Uint8Array(buffer);
      view.set(bytes);
      return view;
    },
    fixedOverResizable: (ctx) => {
      const buffer = resizableBuffer(16, 4096);
      ctx.resizable.push(buffer);
      const view = new Uint8Array(buffer, 0, 16);
      view.set(bytes);
      return view;
    },
    detachable: (ctx) => {
      const view = Uint8Array.from(bytes);
      ctx.detachable.push(view.buffer);
      return view;
    },
    viewAtOffset: () => {
      const whole = new Uint8Array(64).fill(0xee);
      whole.set(bytes, 24);
      return whole.subarray(24, 40);
    },
    nodeBuffer: () => Buffer.from(bytes),
    oneByte: () => Uint8Array.of(0xc3),
    tooBig: () => new Uint8Array(tooBig).fill(0x90),
  });
}

export const codeSlot = bytesSlot('code', CODE_BYTES, CODE_SIZE + 16);
const dataSlot = bytesSlot('data', DATA_BYTES, DATA_SIZE + 16);

const sizeSlot = slot('size', () => ABSENT, constants({ zero: 0, eight: 8, sixteen: 16, odd: 24, page: 4097, mebibyte: 2 ** 20 }));
const alignSlot = slot('align', () => ABSENT, constants({ one: 1, sixteen: 16, page: 4096, twoPages: 8192, three: 3, zero: 0 }));

// ---- names and relocations ----

export const nameSlot = slot('name', (ctx) => ctx.freshName(), constants(NAME_ALTS));

const relocationSlots = new Map<string, Slot>();

function relocationSlot(arena: 'code' | 'data', index: number): Slot {
  const key = `${arena}${index}`;
  let result = relocationSlots.get(key);
  if (result !== undefined) return result;
  const valid = VALID_RELOCATIONS[arena][index % 2]!;
  const field = (name: keyof typeof valid | 'addend' | 'via'): unknown => (name in valid ? valid[name as keyof typeof valid] : ABSENT);
  result = {
    what: `relocation ${index} (${arena})`,
    valid: () => ({ ...valid }),
    fields: {
      offset: slot('offset', () => field('offset'), constants({ zero: 0, lastFour: 12, pastEnd: 16, straddle: 13, far: 2 ** 32 + 1 })),
      type: slot('type', () => field('type'), constants({
        PC32: 'R_X86_64_PC32', PLT32: 'R_X86_64_PLT32', abs32: 'R_X86_64_32', abs32S: 'R_X86_64_32S', abs64: 'R_X86_64_64',
        none: 'R_X86_64_NONE', lower: 'r_x86_64_64', proto: '__proto__', inherited: 'hasOwnProperty',
      })),
      symbol: slot('symbol', () => field('symbol'), constants({
        f: 'f', g: 'g', v: 'v', lazy: 'lazy', ext: 'ext', far: 'far', nowhere: 'nowhere', canary: 'canary', n0: 'n0',
        stubName: 'stub(f)', proto: '__proto__', empty: '',
      })),
      addend: slot('addend', () => field('addend'), constants({ zero: 0, minus4: -4, int32Max: 2 ** 31, int32Min: -(2 ** 31) - 1, huge: 2 ** 52, minSafe: Number.MIN_SAFE_INTEGER })),
      via: slot('via', () => ABSENT, constants({ body: 'body', stub: 'stub', upper: 'BODY' })),
    },
  };
  relocationSlots.set(key, result);
  return result;
}

const relocationsSlot = (arena: 'code' | 'data'): Slot => ({
  what: `relocations (${arena})`,
  valid: () => [{ ...VALID_RELOCATIONS[arena][0] }],
  item: (index) => relocationSlot(arena, index),
});
const codeRelocations = relocationsSlot('code');
const dataRelocations = relocationsSlot('data');

// ---- bodies, definitions, units ----

export const bodySlot: Slot = {
  what: 'function body',
  valid: (ctx) => ({ code: codeSlot.valid(ctx), relocations: codeRelocations.valid(ctx) }),
  fields: { code: codeSlot, relocations: codeRelocations, align: alignSlot },
};

/** A compile callback: valid, it returns a valid body. */
export const compileSlot: Slot = { what: 'compile callback', valid: (ctx) => () => bodySlot.valid(ctx), returns: bodySlot };
const compileField: Slot = { ...compileSlot, what: 'compile', valid: () => ABSENT, alts: { valid: (ctx) => compileSlot.valid(ctx) } };

const definitionSlots = new Map<string, Slot>();

function functionSlot(index: number): Slot {
  let result = definitionSlots.get(`f${index}`);
  if (result === undefined) {
    result = {
      what: `function definition ${index}`,
      valid: (ctx) => ({ name: ctx.freshName(), code: codeSlot.valid(ctx), relocations: codeRelocations.valid(ctx) }),
      fields: { name: nameSlot, code: codeSlot, relocations: codeRelocations, align: alignSlot, compile: compileField },
    };
    definitionSlots.set(`f${index}`, result);
  }
  return result;
}

function globalSlot(index: number): Slot {
  let result = definitionSlots.get(`g${index}`);
  if (result === undefined) {
    result = {
      what: `global definition ${index}`,
      valid: (ctx) => ({ name: ctx.freshName(), data: dataSlot.valid(ctx), relocations: dataRelocations.valid(ctx) }),
      fields: { name: nameSlot, data: dataSlot, size: sizeSlot, relocations: dataRelocations, align: alignSlot },
    };
    definitionSlots.set(`g${index}`, result);
  }
  return result;
}

const functionsSlot: Slot = { what: 'unit.functions', valid: (ctx) => [functionSlot(0).valid(ctx)], item: functionSlot };
const globalsSlot: Slot = { what: 'unit.globals', valid: (ctx) => [globalSlot(0).valid(ctx)], item: globalSlot };

export const unitSlot: Slot = {
  what: 'unit definition',
  valid: (ctx) => ({ functions: functionsSlot.valid(ctx), globals: globalsSlot.valid(ctx) }),
  fields: { functions: functionsSlot, globals: globalsSlot },
};

// ---- callbacks the heap calls ----

/** What resolveExternal answers: 'ext' in reach, 'far' out of rel32 reach, nothing else. */
export function resolveDefault(name: unknown): number | undefined {
  return name === 'ext' ? EXT_ADDRESS : name === 'far' ? FAR_ADDRESS : undefined;
}

const addressSlot = slot('resolved address', () => EXT_ADDRESS, constants({
  far: FAR_ADDRESS, zero: 0, undefined: undefined, negative: -4096, userTop: 2 ** 47, odd: 0x2001,
}));
export const resolveSlot: Slot = { what: 'resolveExternal', valid: () => resolveDefault, returns: addressSlot };

// ---- handles, pins, units, read ----

const ownerSlot = slot('owner', (ctx) => ctx.heap, {
  otherHeap: (ctx) => ctx.other,
  fakeOwner: () => ({ handleAddress: () => CODE_ADDRESS, freeHandle: () => undefined, releasePin: () => undefined }),
});
/** Ids a live node may have (ids are dense and small; handles no longer show theirs). */
const idSlot: Slot = {
  what: 'id',
  valid: () => 0,
  alts: { ...Object.fromEntries([1, 2, 3, 4, 5].map((i) => [`id${i}`, () => i])), zero: () => 0 },
  tame: true,
};
const kindSlot = slot('kind', () => 'function', constants({ global: 'global', stub: 'stub', retired: 'retired' }));
const flagSlot = slot('flag', () => false, constants({ set: true }));

const makeHandle = Handle as unknown as new (...args: unknown[]) => Handle;
const makePin = Pin as unknown as new (...args: unknown[]) => Pin;

/** Pool handles (live or freed) are the heap's own; everything else was never issued by it. */
export const handleSlot: Slot = {
  what: 'handle',
  valid: (ctx) => ctx.handleAt(0),
  alts: {
    ...Object.fromEntries([0, 1, 2, 3, 4, 5, 6, 7].map((i) => [`pool${i}`, (ctx: Ctx) => ctx.handleAt(i)])),
    freed: (ctx) => ctx.freedHandle(),
    foreign: (ctx) => ctx.foreignHandle(),
    pin: (ctx) => ctx.pinAt(0),
    unit: (ctx) => ctx.unitAt(0),
    lookalike: () => ({ name: 'f', kind: 'function', address: CODE_ADDRESS }),
  },
  fields: { owner: ownerSlot, id: idSlot, name: nameSlot, kind: kindSlot, isFreed: flagSlot },
  proto: Handle.prototype,
  construct: { make: (...args) => new makeHandle(...args), args: [ownerSlot, idSlot, nameSlot, kindSlot] },
};

/** Whether a handle recipe gives a handle this heap issued ('maybe': a Proxy of one). */
export function issued(recipe: unknown): 'yes' | 'maybe' | 'no' {
  if (recipe === 'ok') return 'yes';
  if (typeof recipe !== 'object' || recipe === null) return 'no';
  if ('alt' in recipe) return /^pool\d$|^freed$/.test(String(recipe.alt)) ? 'yes' : 'no';
  if ('proxy' in recipe) return issued(recipe.proxy) === 'yes' ? 'maybe' : 'no';
  return 'no';
}

const holdSlot: Slot = { what: 'hold', valid: () => undefined, alts: { hold: () => ({ pins: 1, owner: 0 }) }, tame: true };

export const pinSlot: Slot = {
  what: 'pin',
  valid: (ctx) => ctx.pinAt(0),
  alts: {
    ...Object.fromEntries([0, 1, 2, 3].map((i) => [`pool${i}`, (ctx: Ctx) => ctx.pinAt(i)])),
    handle: (ctx) => ctx.handleAt(0),
  },
  fields: { heap: ownerSlot, id: idSlot, name: nameSlot, hold: holdSlot, isReleased: flagSlot },
  proto: Pin.prototype,
  construct: { make: (...args) => new makePin(...args), args: [ownerSlot, idSlot, nameSlot, holdSlot] },
};

export function pinIssued(recipe: unknown): 'yes' | 'maybe' | 'no' {
  if (recipe === 'ok') return 'yes';
  if (typeof recipe !== 'object' || recipe === null) return 'no';
  if ('alt' in recipe) return /^pool\d$/.test(String(recipe.alt)) ? 'yes' : 'no';
  if ('proxy' in recipe) return pinIssued(recipe.proxy) === 'yes' ? 'maybe' : 'no';
  return 'no';
}

export const readAddressSlot = slot('address', () => CODE_ADDRESS, constants({
  data: DATA_ADDRESS, codeEndMinus4: DATA_ADDRESS - 4, dataEndMinus4: DATA_ADDRESS + DATA_SIZE - 4, zero: 0, below: CODE_ADDRESS - 8,
}));
export const readLengthSlot = slot('length', () => 16, constants({
  zero: 0, eight: 8, wholeCode: CODE_SIZE, pastCode: CODE_SIZE + 1, both: CODE_SIZE + DATA_SIZE, huge: 2 ** 31,
}));
export const argumentSlot = slot('call argument', () => 1, constants({ big: 2n ** 63n, negative: -1n, tooBig: 2n ** 64n }));

// ---- options ----

/** A region of at most 1 MiB whatever the layout asks: a Memory must not be trusted with sizes. */
function cappedRegion(layout: ArenaLayout): unknown {
  const size = Math.min(Number(layout.codeSize) + Number(layout.dataSize), 1 << 20);
  return { bytes: new Uint8Array(Number.isSafeInteger(size) && size > 0 ? size : 0), executable: false, description: 'capped' };
}

const memorySlot = slot('memory', () => ABSENT, {
  buffer: () => new ArrayBuffer(CODE_SIZE + DATA_SIZE),
  bigBuffer: () => new ArrayBuffer(4 * (CODE_SIZE + DATA_SIZE)),
  shortBuffer: () => new ArrayBuffer(4096),
  resizable: (ctx) => {
    const buffer = resizableBuffer(CODE_SIZE + DATA_SIZE, 4 * (CODE_SIZE + DATA_SIZE));
    ctx.resizable.push(buffer);
    return buffer;
  },
  shared: () => new SharedArrayBuffer(CODE_SIZE + DATA_SIZE),
  provider: () => arrayBufferMemory(),
  shortRegion: () => ({ reserve: () => ({ bytes: new Uint8Array(4096), executable: false, description: 'short' }) }),
  int8Region: () => ({ reserve: () => ({ bytes: new Int8Array(CODE_SIZE + DATA_SIZE), executable: false, description: 'int8' }) }),
  noBytes: () => ({ reserve: () => ({ executable: false, description: 'none' }) }),
  throwingReserve: (ctx) => ({
    reserve: () => {
      throw hostile(ctx, 'callback', 'reserve');
    },
  }),
  ...Object.fromEntries(Object.entries({ NaN: Number.NaN, odd: CODE_ADDRESS + 1, negative: -4096, string: '0x40000000', top: 2 ** 53 })
    .map(([k, v]) => [`choose_${k}`, () => ({ reserve: cappedRegion, chooseAddress: () => v })])),
});

const noop = (): void => undefined;
const observerMethod: Slot = {
  what: 'observer method', valid: () => noop, returns: slot('observer result', () => undefined), channel: 'observer',
};

// An observer built field by field always has an `error` method that records what it hears: an
// observer method's error is the observer's own business (the heap hands it there and the call goes
// on), so the laws check it arrives there and never reaches the call. With no `error` method, or one
// that throws, the error is rethrown from a microtask: regressions-user.test.ts sees that in a child.
const observerError: Slot = {
  what: 'observer error method', tame: true, valid: (ctx) => (error: unknown) => void ctx.reported.push(error),
};

const observerSlot: Slot = {
  what: 'observer',
  valid: () => ABSENT,
  alts: { empty: () => ({}), all: () => ({ alloc: noop, free: noop, patch: noop, collect: noop }) },
  fields: { alloc: observerMethod, free: observerMethod, patch: observerMethod, collect: observerMethod, error: observerError },
};

export const optionsSlot: Slot = {
  what: 'options',
  valid: (ctx) => ({
    arch: 'x86_64', codeSize: CODE_SIZE, dataSize: DATA_SIZE, cycleThreshold: Infinity,
    resolveExternal: resolveSlot.valid(ctx), compile: compileSlot.valid(ctx),
  }),
  fields: {
    arch: slot('arch', () => 'x86_64', constants({ aarch64: 'aarch64', upper: 'X86_64' })),
    codeSize: slot('codeSize', () => CODE_SIZE, constants({ page: 4096, pageMinus1: 4095, zero: 0, mebibyte: 2 ** 20, negative: -4096 })),
    dataSize: slot('dataSize', () => DATA_SIZE, constants({ page: 4096, pageMinus1: 4095, zero: 0, mebibyte: 2 ** 20, negative: -4096 })),
    codeAddress: slot('codeAddress', () => ABSENT, constants({
      default: CODE_ADDRESS, zero: 0, page: 4096, odd: CODE_ADDRESS + 1, high: 2 ** 46, top: 2 ** 53 - 8192,
    })),
    dataAddress: slot('dataAddress', () => ABSENT, constants({
      afterCode: DATA_ADDRESS, beforeCode: CODE_ADDRESS - DATA_SIZE, overlapping: CODE_ADDRESS + 4096, far: CODE_ADDRESS + 2 ** 32,
    })),
    memory: memorySlot,
    resolveExternal: resolveSlot,
    compile: compileSlot,
    cycleThreshold: slot('cycleThreshold', () => Infinity, constants({ auto: 'auto', one: 1, zero: 0, half: 0.5, upper: 'AUTO' })),
    observer: observerSlot,
  },
};
