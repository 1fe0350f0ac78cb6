// What the addon's C files share besides calls.h: the helpers native/codeheap.c defines for
// turning JavaScript values into machine words and failures into JavaScript errors, and the
// executor's host side (native/executor-host.c), registered with the rest of the addon.

#ifndef CODEHEAP_ADDON_H
#define CODEHEAP_ADDON_H

#include <node_api.h>
#include <stdint.h>

// Throws the last Node-API error as an Error, unless one is pending; returns NULL.
napi_value throw_last(napi_env env, const char* what);
// Throws an Error with `code` and the message "what: strerror(error)"; returns NULL.
napi_value throw_errno(napi_env env, const char* code, const char* what, int error);
// A number that is a safe non-negative integer, as an address or a size. 0 when it is not one.
int get_address(napi_env env, napi_value value, uint64_t* out);
// undefined, to return.
napi_value undefined_value(napi_env env);
// One integer-class argument of a typed call as register bits (a number, a BigInt, null, or a
// Uint8Array: its bytes' address, and with `buffer` the bytes themselves and their count).
int get_register(napi_env env, napi_value value, uint64_t* out, void** buffer, size_t* length);
// A typed call's result as JavaScript: kind is one of RESULT_KINDS (src/native-signature.ts).
napi_value typed_result(napi_env env, int kind, uint64_t bits, double real);

// Adds the executor's host functions (executorSpawn, executorCall, ...) to the addon's exports.
napi_status executor_host_register(napi_env env, napi_value exports);

#endif
