// Builds the native-memory addon (native/codeheap.c) when codeheap is installed, on Linux x86-64.
//
// The addon is optional: this script never fails the install. Where it cannot build (another
// platform, no C compiler, no Node headers, or CODEHEAP_NATIVE=off), it says why, records the
// reason in build/native-status.json for isNativeAvailable(), and exits 0; the simulated heap
// works everywhere.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const statusFile = join(root, 'build', 'native-status.json');
const addon = join(root, 'build', 'Release', 'codeheap_native.node');

function record(built, reason) {
  mkdirSync(dirname(statusFile), { recursive: true });
  writeFileSync(statusFile, `${JSON.stringify({ built, reason }, null, 2)}\n`);
  console.log(built ? 'codeheap: native memory built (build/Release/codeheap_native.node)'
    : `codeheap: native memory not built: ${reason}. The heap works on simulated memory; heap.call needs native memory.`);
}

/** npm's own node-gyp: npm names it in the environment of install scripts; else beside npm. */
function nodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  return candidates.find((path) => path !== undefined && path !== '' && existsSync(path));
}

/** Node's headers: the configured nodedir, else the ones installed beside this node (no download). */
function nodeDir() {
  const configured = process.env.npm_config_nodedir;
  if (configured !== undefined && configured !== '') return configured;
  const prefix = join(dirname(process.execPath), '..');
  return existsSync(join(prefix, 'include', 'node', 'node_api.h')) ? prefix : undefined;
}

function main() {
  rmSync(addon, { force: true });
  if (process.env.CODEHEAP_NATIVE === 'off') return record(false, 'turned off by CODEHEAP_NATIVE=off');
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    return record(false, `native memory is for Linux x86-64, and this is ${process.platform} ${process.arch}`);
  }
  const gyp = nodeGyp();
  if (gyp === undefined) return record(false, 'node-gyp was not found (it comes with npm)');
  const dir = nodeDir();
  const args = [gyp, 'rebuild', ...(dir === undefined ? [] : [`--nodedir=${dir}`])];
  const result = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8' });
  if (result.status === 0 && existsSync(addon)) return record(true, '');
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}`.split('\n')
    .filter((line) => line.trim() !== '' && !/^gyp (info|ERR! (System|command|cwd|node -v|node-gyp -v|not ok))/.test(line))
    .slice(-8).join('\n');
  if (output !== '') console.log(output);
  const why = result.error !== undefined ? result.error.message : `node-gyp rebuild exited with ${result.status}`;
  return record(false, `the build failed (${why}; no C compiler or no Node headers?)`);
}

try {
  main();
} catch (error) {
  record(false, `the install script failed: ${error instanceof Error ? error.message : String(error)}`);
}
