{
  "targets": [
    {
      "target_name": "codeheap_native",
      "sources": ["native/codeheap.c", "native/faults.c", "native/executor-host.c"],
      "cflags": ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-Werror"],
      "defines": ["NAPI_VERSION=8"]
    },
    {
      "target_name": "codeheap_executor",
      "type": "executable",
      "sources": ["native/executor.c"],
      "cflags": ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-Werror"],
      "libraries": ["-ldl", "-lpthread"]
    }
  ]
}
