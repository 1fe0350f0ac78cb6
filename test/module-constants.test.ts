// The library reads another module's constants through module constants of its own (README,
// Architecture): an imported binding is loaded from its module cell and checked at every use, and
// V8 cannot fold it into the code. This test finds any `import { X }` of a number or a boolean
// from a module of the library, so that a new one is caught where it is written.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/** The value names of every `import { ... } from './relative.js'` statement (type imports left out). */
function namedImports(source: string): { specifier: string; names: string[] }[] {
  const found: { specifier: string; names: string[] }[] = [];
  for (const match of source.matchAll(/^import\s+\{([^}]*)\}\s+from\s+'(\.[^']+)';/gm)) {
    const names = match[1]!.split(',').map((name) => name.trim())
      .filter((name) => name !== '' && !name.startsWith('type '))
      .map((name) => name.split(/\s+as\s+/)[0]!);
    found.push({ specifier: match[2]!, names });
  }
  return found;
}

describe('module constants', () => {
  it('finds a constant imported by name (the check can fail)', async () => {
    const source = "import { NONE, grown, type NodeKind } from './base.js';\n";
    const [entry] = namedImports(source);
    expect(entry).toEqual({ specifier: './base.js', names: ['NONE', 'grown'] });
    const module = await import(pathToFileURL(join(SRC, 'base.ts')).href) as Record<string, unknown>;
    expect(entry!.names.filter((name) => typeof module[name] === 'number')).toEqual(['NONE']);
  });

  it('no module of the library imports a number or a boolean by name', async () => {
    const offences: string[] = [];
    for (const file of sourceFiles(SRC)) {
      for (const { specifier, names } of namedImports(readFileSync(file, 'utf8'))) {
        const target = resolve(dirname(file), specifier.replace(/\.js$/, '.ts'));
        const module = await import(pathToFileURL(target).href) as Record<string, unknown>;
        for (const name of names) {
          const kind = typeof module[name];
          if (kind === 'number' || kind === 'boolean') offences.push(`${relative(SRC, file)}: ${name} from ${specifier}`);
        }
      }
    }
    expect(offences).toEqual([]);
  });
});
