/* Nanosecond-exact file timestamps for WASI (fd_filestat_set_times, path_filestat_set_times).
 * Node's fs.futimes/utimes take seconds as a double, which cannot hold a 2020s timestamp to the
 * nanosecond; guests set and compare exact values. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <node_api.h>

/* Mode per timestamp: 0 = leave as is, 1 = now, 2 = the given nanoseconds since the epoch. */
static int to_timespec(napi_env env, napi_value mode_v, napi_value ns_v, struct timespec *ts) {
  int32_t mode;
  if (napi_get_value_int32(env, mode_v, &mode) != napi_ok) return -1;
  if (mode == 0) { ts->tv_sec = 0; ts->tv_nsec = UTIME_OMIT; return 0; }
  if (mode == 1) { ts->tv_sec = 0; ts->tv_nsec = UTIME_NOW; return 0; }
  uint64_t ns;
  bool lossless;
  if (napi_get_value_bigint_uint64(env, ns_v, &ns, &lossless) != napi_ok || !lossless) return -1;
  ts->tv_sec = (time_t)(ns / 1000000000ULL);
  ts->tv_nsec = (long)(ns % 1000000000ULL);
  return 0;
}

static napi_value throw_errno(napi_env env, int err) {
  napi_value code, message, error;
  const char *name = err == ENOENT ? "ENOENT" : err == EACCES ? "EACCES" : err == EPERM ? "EPERM"
    : err == EBADF ? "EBADF" : err == ELOOP ? "ELOOP" : err == ENOTDIR ? "ENOTDIR" : err == EROFS ? "EROFS"
    : err == EINVAL ? "EINVAL" : "EIO";
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, strerror(err), NAPI_AUTO_LENGTH, &message);
  napi_create_error(env, code, message, &error);
  napi_set_named_property(env, error, "code", code);
  napi_throw(env, error);
  return NULL;
}

/* setTimes(target: number | string, atimeMode, atimeNs: bigint, mtimeMode, mtimeNs: bigint, follow: boolean)
 * target is an fd (futimens) or a path (utimensat, AT_SYMLINK_NOFOLLOW unless follow). */
static napi_value set_times(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc != 6) { napi_throw_type_error(env, NULL, "setTimes expects 6 arguments"); return NULL; }
  struct timespec times[2];
  if (to_timespec(env, argv[1], argv[2], &times[0]) || to_timespec(env, argv[3], argv[4], &times[1])) {
    napi_throw_type_error(env, NULL, "bad timestamp");
    return NULL;
  }
  napi_valuetype type;
  napi_typeof(env, argv[0], &type);
  int rc;
  if (type == napi_number) {
    int32_t fd;
    napi_get_value_int32(env, argv[0], &fd);
    rc = futimens(fd, times);
  } else {
    char path[4096];
    size_t len;
    if (napi_get_value_string_utf8(env, argv[0], path, sizeof path, &len) != napi_ok || len >= sizeof path - 1) {
      napi_throw_type_error(env, NULL, "bad path");
      return NULL;
    }
    bool follow;
    napi_get_value_bool(env, argv[5], &follow);
    rc = utimensat(AT_FDCWD, path, times, follow ? 0 : AT_SYMLINK_NOFOLLOW);
  }
  if (rc != 0) return throw_errno(env, errno);
  return NULL;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "setTimes", NAPI_AUTO_LENGTH, set_times, NULL, &fn);
  napi_set_named_property(env, exports, "setTimes", fn);
  return exports;
}
