{
  "targets": [
    {
      "target_name": "fs_times",
      "sources": ["host-apis/native/fs_times.c"],
      "cflags": ["-O2", "-Wall"]
    },
    {
      "target_name": "file_lock",
      "sources": ["host-apis/native/file_lock.c"],
      "cflags": ["-O2", "-Wall"]
    }
  ]
}
