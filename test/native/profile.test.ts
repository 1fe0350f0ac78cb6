// The heap's code named to the real `perf`: a child process runs the tiny JIT's hot code under
// `perf record`, through a recompile that moves a function (tier 0 to tier 1) and a freed block
// given to another program's function (test/native/profile-child.ts), and `perf report` must name
// its samples.
//
// With the jitdump (`perf inject --jit`), each sample is named by what was at its address when it
// was taken: spin ran for two of the three phases, spun for one, in the block spin had first, so
// spin must have about twice spun's samples (a name by address alone would give the first
// phase's to spun). The perf map is checked line by
// line: perf itself reads one only for anonymous memory, and the code arena is a memfd mapping
// (README, Debugging and profiling), so with perf the jitdump is what names the code.
// Runs where perf can record (Linux with linux-perf installed, and perf_event_open allowed);
// elsewhere it is skipped with the reason printed. On CI it must run: .ci/run installs perf.

import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { CodeHeap, CodeHeapError } from '../../src/index.js';
import { isNativeAvailable, nativeMemory } from '../../src/native/index.js';

const native = isNativeAvailable();
const mustRun = process.env['CI'] === 'true' && process.platform === 'linux' && process.arch === 'x64'
  && process.env['CODEHEAP_NATIVE'] !== 'off';

/** Why perf cannot record here, or '' when it can. */
function perfProblem(): string {
  if (!native.available) return `native memory is not available: ${native.reason}`;
  const probe = spawnSync('perf', ['record', '-q', '-e', 'cpu-clock', '-o', '/dev/null', '--', 'true'], { encoding: 'utf8' });
  if (probe.error !== undefined) return `perf is not installed (${probe.error.message}); apt-get install linux-perf`;
  if (probe.status !== 0) return `perf record failed here: ${probe.stderr.trim().split('\n').slice(-1)[0]}`;
  return '';
}

const problem = perfProblem();
if (problem !== '') console.warn(`perf tests skipped: ${problem}`);
const dir = mkdtempSync(join(tmpdir(), 'codeheap-perf-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Samples per function name in a `perf report --stdio` of `data`. */
function samplesByName(data: string): Map<string, number> {
  const report = execFileSync('perf', ['report', '-i', data, '--stdio', '--sort', 'sym', '-F', 'sample,sym', '--percent-limit', '0'], {
    encoding: 'utf8', cwd: dir, maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'ignore'],
  });
  const samples = new Map<string, number>();
  for (const line of report.split('\n')) {
    const match = /^\s*(\d+)\s+\[\.\]\s+(\S+)/.exec(line);
    if (match !== null) samples.set(match[2]!, (samples.get(match[2]!) ?? 0) + Number(match[1]));
  }
  return samples;
}

describe.runIf(problem === '' || mustRun)('perf names the heap\'s code', () => {
  it('runs here', () => {
    expect(problem, 'on CI the perf tests must run').toBe('');
  });

  it('through a recompile and a reused block, the jitdump names each sample by what ran there then; the perf map lists every placement', () => {
    const child = fileURLToPath(new URL('./profile-child.ts', import.meta.url));
    const data = join(dir, 'perf.data');
    const run = spawnSync('perf', ['record', '-q', '-k', 'mono', '-e', 'cpu-clock', '-F', '1999', '-o', data, '--',
      process.execPath, '--import', 'tsx', child, dir, '300'], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    const { pid, first, moved, second } = JSON.parse(run.stdout) as { pid: number; first: number; moved: number; second: number };
    expect(moved, 'the tier-1 body is placed elsewhere').not.toBe(first);
    expect(second, 'spun is placed in the block spin had first').toBe(first);

    // The perf map: a line for each placement, in order: each lazy function's trampoline, then
    // its tier-0 body when its first call compiled it, then spin's tier-1 body.
    const map = readFileSync(`/tmp/perf-${pid}.map`, 'utf8').trim().split('\n').map((line) => line.split(' '));
    const trampoline = Number.parseInt(map[0]![0]!, 16);
    expect(map.map(([address, , ...name]) => [Number.parseInt(address!, 16), name.join(' ')])).toEqual([
      [trampoline, 'spin [lazy]'], [first, 'spin'], [moved, 'spin'], [trampoline, 'spun [lazy]'], [second, 'spun'],
    ]);
    rmSync(`/tmp/perf-${pid}.map`);

    const injected = join(dir, 'perf.jit.data');
    execFileSync('perf', ['inject', '--jit', '-i', data, '-o', injected], { cwd: dir, stdio: 'ignore' });
    const byTime = samplesByName(injected);
    const [a, b] = [byTime.get('spin') ?? 0, byTime.get('spun') ?? 0];
    // Two phases against one: spin has about twice spun's samples (a perf map alone would give
    // spin's first phase, at the address spun took later, to spun).
    expect(b, `samples: ${JSON.stringify([...byTime].slice(0, 8))}`).toBeGreaterThan(50);
    expect(a / b).toBeGreaterThan(1.4);
    expect(a / b).toBeLessThan(2.8);
  }, 60_000);
});

describe('the profile option', () => {
  it.runIf(native.available)('names perf-map, jitdump and gdb, or a list of them; anything else is INVALID_ARGUMENT', () => {
    for (const profile of ['perf', ['jitdump', 'lldb'], 7, {}]) {
      expect(() => nativeMemory({ profile: profile as 'jitdump' })).toThrow(CodeHeapError);
    }
    expect(() => nativeMemory({ jitdumpDirectory: 7 as unknown as string })).toThrow(/jitdumpDirectory/);
  });

  it.runIf(native.available)('without it, CODEHEAP_PROFILE names the outputs; a name it does not know is INVALID_ARGUMENT naming the variable', async () => {
    const saved = process.env['CODEHEAP_PROFILE'];
    const map = `/tmp/perf-${process.pid}.map`;
    try {
      process.env['CODEHEAP_PROFILE'] = 'perf-map';
      const heap = new CodeHeap({ arch: 'x86_64', codeSize: 1 << 16, dataSize: 1 << 12, memory: nativeMemory() });
      heap.define({ functions: [{ name: 'from_the_environment', code: Uint8Array.from([0xc3]) }] });
      const address = heap.node('from_the_environment')!.address;
      // Written in batches: by the next turn of the event loop.
      await new Promise((resolve) => setTimeout(resolve, 5));
      expect(readFileSync(map, 'utf8')).toMatch(new RegExp(`^${address.toString(16)} [0-9a-f]+ from_the_environment$`, 'm'));
      heap.close();
      process.env['CODEHEAP_PROFILE'] = 'perf-map, vtune';
      expect(() => nativeMemory()).toThrow(/CODEHEAP_PROFILE=perf-map, vtune names "vtune"/);
      process.env['CODEHEAP_PROFILE'] = '';
      const quiet = new CodeHeap({ arch: 'x86_64', codeSize: 1 << 16, dataSize: 1 << 12, memory: nativeMemory() });
      quiet.define({ functions: [{ name: 'not_told', code: Uint8Array.from([0xc3]) }] });
      await new Promise((resolve) => setTimeout(resolve, 5));
      expect(readFileSync(map, 'utf8')).not.toContain('not_told');
      quiet.close();
    } finally {
      if (saved === undefined) delete process.env['CODEHEAP_PROFILE'];
      else process.env['CODEHEAP_PROFILE'] = saved;
      rmSync(map, { force: true });
    }
  });
});
