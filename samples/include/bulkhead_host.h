// C bindings for the bulkhead:host@0.1.0 interfaces (host-apis/wit/bulkhead-host.wit), written by
// hand to the component model's canonical ABI, as `wit-bindgen c` would generate them. Build with
// clang --target=wasm32-wasi, embed the WIT (world `imports` for a job, `service` for a service)
// and make a component with the preview1 adapter; samples/build.ts shows the steps.
#ifndef BULKHEAD_HOST_H
#define BULKHEAD_HOST_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BH_IMPORT(iface, fn) __attribute__((import_module("bulkhead:host/" iface "@0.1.0"), import_name(fn)))
#define BH_EXPORT(name) __attribute__((export_name(name)))

typedef struct { const char *ptr; size_t len; } bh_string_t;
typedef struct { uint8_t *ptr; size_t len; } bh_bytes_t;
typedef struct { bh_string_t key; bh_string_t value; } bh_pair_t;

static inline bh_string_t bh_str(const char *s) { return (bh_string_t){ s, strlen(s) }; }

// The host allocates returned strings and lists in our memory through this export.
//
// Known upstream issue (jco 1.35's preview1 adapter; `jco run` shows it too): in a module that
// exports cabi_realloc, the adapter allocates its own state on its first call, and if that call is
// stdio flushing a line assembled from several pieces, the buffered part is lost. Call
// BH_STDIO_INIT() first in main(); it sets stdout's buffering up front, which avoids it.
BH_EXPORT("cabi_realloc")
void *cabi_realloc(void *ptr, size_t old_size, size_t align, size_t new_size) {
  (void)old_size; (void)align;
  if (new_size == 0) return (void *)align;
  void *p = realloc(ptr, new_size);
  if (!p) abort();
  return p;
}

#define BH_STDIO_INIT() setvbuf(stdout, NULL, _IOLBF, BUFSIZ)

// ---- log ----
enum bh_level { BH_TRACE, BH_DEBUG, BH_INFO, BH_WARN, BH_ERROR };
BH_IMPORT("log", "write") extern void bh_log_write_raw(int32_t, const char *, size_t, const bh_pair_t *, size_t);
static inline void bh_log(enum bh_level level, const char *message, const bh_pair_t *fields, size_t nfields) {
  bh_log_write_raw(level, message, strlen(message), fields, nfields);
}

// printf-style: one info record of at most 255 bytes.
__attribute__((format(printf, 1, 2)))
static inline void bh_logf(const char *fmt, ...) {
  char line[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  bh_log(BH_INFO, line, NULL, 0);
}

// ---- shared error shape: result<_, variant { case(string), ... }> ----
// Layout: u8 is_err @0; u8 case @4; string @8. `message` is owned by the caller (free it).
typedef struct { uint8_t is_err; uint8_t pad[3]; uint8_t code; uint8_t pad2[3]; bh_string_t message; } bh_result_t;
enum bh_kv_error { BH_KV_DENIED, BH_KV_QUOTA_EXCEEDED, BH_KV_INVALID, BH_KV_IO };
enum bh_messaging_error { BH_MSG_DENIED, BH_MSG_INVALID };

// ---- kv ----
// result<option<list<u8>>, error>: u8 is_err @0; ok: u8 is_some @4, list @8; err: u8 case @4, string @8
typedef struct { uint8_t is_err; uint8_t pad[3]; uint8_t tag; uint8_t pad2[3]; union { bh_bytes_t value; bh_string_t message; } u; } bh_kv_get_result_t;
BH_IMPORT("kv", "get") extern void bh_kv_get_raw(const char *, size_t, bh_kv_get_result_t *);
BH_IMPORT("kv", "set") extern void bh_kv_set_raw(const char *, size_t, const uint8_t *, size_t, bh_result_t *);
BH_IMPORT("kv", "delete") extern void bh_kv_delete_raw(const char *, size_t, bh_result_t *);
typedef struct { uint8_t is_err; uint8_t pad[3]; union { struct { bh_string_t *ptr; size_t len; } keys; struct { uint8_t code; uint8_t pad[3]; bh_string_t message; } err; } u; } bh_kv_list_result_t;
BH_IMPORT("kv", "list-keys") extern void bh_kv_list_keys_raw(const char *, size_t, bh_kv_list_result_t *);

static inline bh_kv_get_result_t bh_kv_get(const char *key) { bh_kv_get_result_t r; bh_kv_get_raw(key, strlen(key), &r); return r; }
static inline bh_result_t bh_kv_set(const char *key, const void *value, size_t len) { bh_result_t r; bh_kv_set_raw(key, strlen(key), value, len, &r); return r; }
static inline bh_result_t bh_kv_delete(const char *key) { bh_result_t r; bh_kv_delete_raw(key, strlen(key), &r); return r; }

// ---- messaging ----
BH_IMPORT("messaging", "publish") extern void bh_publish_raw(const char *, size_t, const void *, size_t, bh_result_t *);
BH_IMPORT("messaging", "subscribe") extern void bh_subscribe_raw(const char *, size_t, bh_result_t *);
static inline bh_result_t bh_publish(const char *topic, const void *payload, size_t len) { bh_result_t r; bh_publish_raw(topic, strlen(topic), payload, len, &r); return r; }
static inline bh_result_t bh_subscribe(const char *pattern) { bh_result_t r; bh_subscribe_raw(pattern, strlen(pattern), &r); return r; }

// ---- config ----
// option<string>: u8 is_some @0, string @4
typedef struct { uint8_t is_some; uint8_t pad[3]; bh_string_t value; } bh_option_string_t;
BH_IMPORT("config", "get") extern void bh_config_get_raw(const char *, size_t, bh_option_string_t *);
static inline bh_option_string_t bh_config_get(const char *name) { bh_option_string_t r; bh_config_get_raw(name, strlen(name), &r); return r; }
// A parameter's value copied into `buf` as a NUL-terminated string (cut to size - 1 bytes);
// 0 when the parameter is not set (`buf` is then empty).
static inline int bh_config_text(const char *name, char *buf, size_t size) {
  bh_option_string_t v = bh_config_get(name);
  buf[0] = 0;
  if (!v.is_some) return 0;
  size_t n = v.value.len < size - 1 ? v.value.len : size - 1;
  memcpy(buf, v.value.ptr, n);
  buf[n] = 0;
  free((void *)v.value.ptr);
  return 1;
}

// ---- app (exports of a service) ----
// start: func() -> result<_, string>; return a pointer to { u8 is_err @0; string @4 }.
typedef struct { uint8_t is_err; uint8_t pad[3]; bh_string_t message; } bh_start_result_t;
#define BH_APP_START BH_EXPORT("bulkhead:host/app@0.1.0#start") bh_start_result_t *
#define BH_APP_ON_MESSAGE BH_EXPORT("bulkhead:host/app@0.1.0#on-message") void

#endif
