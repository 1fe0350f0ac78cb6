#!/usr/bin/env bash
# The package as a user receives it. Packs the tree as a fresh clone would pack it (no dist/, no
# build/), installs the tarball into a project of its own in a temporary directory, imports
# codeheap, codeheap/native, codeheap/elf and codeheap/executor from plain Node ESM and calls
# into the heap, and typechecks a strict TypeScript file against the shipped declarations with
# lib ES2022 alone and with ESNext.Disposable. Any failing step fails the check. Needs the repository's own dependencies
# (npm ci): the build and the TypeScript checks use its typescript, so the consumer fetches nothing.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
fixture="$repo/.ci/consumer"
tsc="$repo/node_modules/.bin/tsc"
test -x "$tsc" || { echo "consumer check: $tsc is missing; run npm ci first" >&2; exit 1; }
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

echo '== consumer check: pack a clean copy of the tree'
mkdir "$scratch/tree"
(cd "$repo" && tar --exclude=./node_modules --exclude=./build --exclude=./dist --exclude=./.git -cf - .) \
  | tar -xf - -C "$scratch/tree"
ln -s "$repo/node_modules" "$scratch/tree/node_modules"
(cd "$scratch/tree" && npm pack --pack-destination "$scratch")
tarballs=("$scratch"/codeheap-*.tgz)
tarball=${tarballs[0]}
test -f "$tarball" || { echo "consumer check: npm pack wrote no tarball" >&2; exit 1; }

echo '== consumer check: install the tarball into a project of its own'
consumer="$scratch/consumer"
mkdir "$consumer"
cp "$fixture/package.json" "$fixture/node.mjs" "$fixture/strict.ts" "$fixture/tsconfig.json" \
  "$fixture/tsconfig.disposable.json" "$consumer/"
cd "$consumer"
npm install --offline --no-audit --no-fund --foreground-scripts "$tarball"
installed="$consumer/node_modules/codeheap"
expect_native=0
if [[ -e "$repo/build/Release/codeheap_native.node" && "${CODEHEAP_NATIVE:-}" != off ]]; then
  # The repository's install built the addon, so the tarball's install script must build it here.
  expect_native=1
  test -e "$installed/build/Release/codeheap_native.node" \
    || { echo 'consumer check: the tarball install did not build the native addon' >&2; exit 1; }
fi

echo '== consumer check: plain Node ESM, native memory where built, then simulated memory'
CODEHEAP_EXPECT_NATIVE=$expect_native node node.mjs
CODEHEAP_NATIVE=off node node.mjs

echo "== consumer check: the shipped declarations need none of Node's types"
if grep -rnE 'NodeJS\.|\bBuffer\b|reference types=|from .node:' --include='*.d.ts' "$installed/dist"; then
  echo "consumer check: a shipped .d.ts above refers to Node's types" >&2
  exit 1
fi

echo '== consumer check: strict TypeScript, lib ES2022 alone and no @types, then run'
"$tsc" -p tsconfig.json
CODEHEAP_NATIVE=off node out/strict.js
node out/strict.js
echo '== consumer check: strict TypeScript, lib ES2022 and ESNext.Disposable'
"$tsc" -p tsconfig.disposable.json
echo "consumer check: passed in ${SECONDS}s"
