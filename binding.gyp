{
  "targets": [
    {
      "target_name": "fs_times",
      "sources": ["host-apis/native/fs_times.c"],
      "cflags": ["-O2", "-Wall"]
    }
  ]
}
