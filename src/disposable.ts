// The globals the shipped declarations use, for projects whose lib has no ESNext.Disposable.
//
// Handles, pins and units have [Symbol.dispose], so that `using` frees them. With lib ES2022 alone
// and no @types/node, SymbolConstructor has no dispose and there is no Disposable: both are
// declared here as @types/node's compatibility/disposable.d.ts declares them, and merge with
// TypeScript's own where its lib has them. Node has had Symbol.dispose since 20.4 (engines: 20.19).

declare global {
  interface SymbolConstructor {
    readonly dispose: unique symbol;
  }

  interface Disposable {
    [Symbol.dispose](): void;
  }
}

export {};
