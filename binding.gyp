{
  "targets": [
    {
      "target_name": "codeheap_native",
      "sources": ["native/codeheap.c", "native/faults.c"],
      "cflags": ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-Werror"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
