// codeheap/elf: a runtime linker for ELF64 x86-64 relocatable objects (what `gcc -c` writes),
// loading them into a CodeHeap as MCJIT's RuntimeDyld loads them into memory.

export { loadObject, type LoadOptions } from './load-object.js';
export { LoadedObject, type ObjectSymbol } from './loaded-object.js';
