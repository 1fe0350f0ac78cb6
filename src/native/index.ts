// codeheap/native: executable memory for the heap on Linux x86-64 (an optional Node-API addon).

export { isNativeAvailable, nativeMemory, type NativeAvailability, type NativeMemoryOptions } from './native-memory.js';
export type { ProfileOutput } from './profile.js';
