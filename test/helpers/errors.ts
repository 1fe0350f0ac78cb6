// The one check most failure tests need: the call throws a CodeHeapError with this code.

import { expect } from 'vitest';
import { CodeHeapError, type ErrorCode } from '../../src/index.js';

/** Runs call, expects it to throw a CodeHeapError with `code`, and returns that error. */
export function expectCode(call: () => unknown, code: ErrorCode): CodeHeapError {
  let caught: unknown;
  try {
    call();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(CodeHeapError);
  expect((caught as CodeHeapError).code).toBe(code);
  return caught as CodeHeapError;
}
