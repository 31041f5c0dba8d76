/* Whole-file POSIX record locks (fcntl F_SETLK / F_GETLK), which Node's fs does not offer.
 * The device daemon holds one on <data-dir>/daemon.lock for its lifetime. The kernel drops the
 * lock when the process ends (even before it is reaped), and F_GETLK names the process holding
 * it, so "is a daemon running, and which pid" is answered by the kernel, never by a pid file
 * that may be stale or name an unrelated process. Kept apart from fs_times.c: one concept each. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <node_api.h>

static napi_value throw_errno(napi_env env, const char *what, int err) {
  char message[160];
  napi_value code, msg, error;
  snprintf(message, sizeof message, "%s: %s", what, strerror(err));
  napi_create_string_utf8(env, err == EBADF ? "EBADF" : err == EINVAL ? "EINVAL" : err == ENOLCK ? "ENOLCK" : "EIO", NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &msg);
  napi_create_error(env, code, msg, &error);
  napi_set_named_property(env, error, "code", code);
  napi_throw(env, error);
  return NULL;
}

static int fd_arg(napi_env env, napi_callback_info info, int32_t *fd) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1) return -1;
  return napi_get_value_int32(env, argv[0], fd) == napi_ok ? 0 : -1;
}

/* tryLock(fd): takes a write lock on the whole file without waiting; false if another process holds one. */
static napi_value try_lock(napi_env env, napi_callback_info info) {
  int32_t fd;
  if (fd_arg(env, info, &fd) != 0) return throw_errno(env, "tryLock(fd)", EINVAL);
  struct flock fl;
  memset(&fl, 0, sizeof fl);
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  napi_value result;
  if (fcntl(fd, F_SETLK, &fl) == 0) {
    napi_get_boolean(env, true, &result);
    return result;
  }
  if (errno == EAGAIN || errno == EACCES) {
    napi_get_boolean(env, false, &result);
    return result;
  }
  return throw_errno(env, "fcntl(F_SETLK)", errno);
}

/* lockHolder(fd): the pid of the other process holding a lock on the file, or 0 if none does. */
static napi_value lock_holder(napi_env env, napi_callback_info info) {
  int32_t fd;
  if (fd_arg(env, info, &fd) != 0) return throw_errno(env, "lockHolder(fd)", EINVAL);
  struct flock fl;
  memset(&fl, 0, sizeof fl);
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  if (fcntl(fd, F_GETLK, &fl) != 0) return throw_errno(env, "fcntl(F_GETLK)", errno);
  napi_value result;
  napi_create_int32(env, fl.l_type == F_UNLCK ? 0 : (int32_t)fl.l_pid, &result);
  return result;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "tryLock", NAPI_AUTO_LENGTH, try_lock, NULL, &fn);
  napi_set_named_property(env, exports, "tryLock", fn);
  napi_create_function(env, "lockHolder", NAPI_AUTO_LENGTH, lock_holder, NULL, &fn);
  napi_set_named_property(env, exports, "lockHolder", fn);
  return exports;
}
