// Hand-written canonical-ABI declarations of the WASI 0.2.12 imports the network samples use
// (wasi:io streams and pollables, wasi:sockets TCP and name lookup, wasi:http outgoing), as
// wit-bindgen would generate them. Result layouts are noted where a function returns through a
// pointer: "u8 is_err @0; payload @N" means the result's discriminant at byte 0, its payload at N.
#ifndef WASI_NET_H
#define WASI_NET_H

#include <stddef.h>
#include <stdint.h>

#define IMPORT(mod, fn) __attribute__((import_module(mod "@0.2.12"), import_name(fn)))

// ---- wasi:io ----
IMPORT("wasi:io/poll", "[method]pollable.block") extern void pollable_block(int32_t);
IMPORT("wasi:io/poll", "[resource-drop]pollable") extern void pollable_drop(int32_t);
IMPORT("wasi:io/streams", "[method]output-stream.blocking-write-and-flush") extern void out_write(int32_t, const void *, size_t, uint8_t *);
IMPORT("wasi:io/streams", "[method]input-stream.blocking-read") extern void in_read(int32_t, int64_t, uint8_t *);
IMPORT("wasi:io/streams", "[resource-drop]input-stream") extern void in_drop(int32_t);
IMPORT("wasi:io/streams", "[resource-drop]output-stream") extern void out_drop(int32_t);

// ---- wasi:sockets ----
IMPORT("wasi:sockets/instance-network", "instance-network") extern int32_t instance_network(void);
IMPORT("wasi:sockets/tcp-create-socket", "create-tcp-socket") extern void create_tcp_socket(int32_t family, uint8_t *ret);
IMPORT("wasi:sockets/tcp", "[method]tcp-socket.start-connect") extern void tcp_start_connect(int32_t self, int32_t network,
  int32_t tag, int32_t port, int32_t a, int32_t b, int32_t c, int32_t d, int32_t p5, int32_t p6, int32_t p7, int32_t p8,
  int32_t p9, int32_t p10, uint8_t *ret);
IMPORT("wasi:sockets/tcp", "[method]tcp-socket.subscribe") extern int32_t tcp_subscribe(int32_t);
IMPORT("wasi:sockets/tcp", "[method]tcp-socket.finish-connect") extern void tcp_finish_connect(int32_t, uint8_t *);
IMPORT("wasi:sockets/tcp", "[resource-drop]tcp-socket") extern void tcp_drop(int32_t);
// tcp-socket.start-bind(self, network, ip-socket-address) -> result<_, error-code>: u8 is_err @0; error @1
IMPORT("wasi:sockets/tcp", "[method]tcp-socket.start-bind") extern void tcp_start_bind(int32_t self, int32_t network,
  int32_t tag, int32_t port, int32_t a, int32_t b, int32_t c, int32_t d, int32_t p5, int32_t p6, int32_t p7, int32_t p8,
  int32_t p9, int32_t p10, uint8_t *ret);
IMPORT("wasi:sockets/tcp", "[method]tcp-socket.finish-bind") extern void tcp_finish_bind(int32_t, uint8_t *);
IMPORT("wasi:sockets/tcp", "[method]tcp-socket.start-listen") extern void tcp_start_listen(int32_t, uint8_t *);
IMPORT("wasi:sockets/tcp", "[method]tcp-socket.finish-listen") extern void tcp_finish_listen(int32_t, uint8_t *);
// accept -> result<tuple<tcp-socket, input-stream, output-stream>, error-code>: u8 is_err @0; handles @4 @8 @12 | error @4
IMPORT("wasi:sockets/tcp", "[method]tcp-socket.accept") extern void tcp_accept(int32_t, uint8_t *);
IMPORT("wasi:sockets/ip-name-lookup", "resolve-addresses") extern void resolve_addresses(int32_t, const char *, size_t, uint8_t *);
IMPORT("wasi:sockets/ip-name-lookup", "[method]resolve-address-stream.resolve-next-address") extern void resolve_next(int32_t, uint8_t *);
IMPORT("wasi:sockets/ip-name-lookup", "[resource-drop]resolve-address-stream") extern void resolve_drop(int32_t);

static const char *const SOCKET_ERRORS[] __attribute__((unused)) = { "unknown", "access-denied", "not-supported", "invalid-argument", "out-of-memory",
  "timeout", "concurrency-conflict", "not-in-progress", "would-block", "invalid-state", "new-socket-limit",
  "address-not-bindable", "address-in-use", "remote-unreachable", "connection-refused", "connection-reset",
  "connection-aborted", "datagram-too-large", "name-unresolvable", "temporary-resolver-failure", "permanent-resolver-failure" };

// ---- wasi:http ----
IMPORT("wasi:http/types", "[constructor]fields") extern int32_t fields_new(void);
IMPORT("wasi:http/types", "[constructor]outgoing-request") extern int32_t request_new(int32_t fields);
IMPORT("wasi:http/types", "[method]outgoing-request.set-authority") extern int32_t request_set_authority(int32_t, int32_t, const char *, size_t);
IMPORT("wasi:http/types", "[method]outgoing-request.set-path-with-query") extern int32_t request_set_path(int32_t, int32_t, const char *, size_t);
IMPORT("wasi:http/types", "[method]outgoing-request.set-scheme") extern int32_t request_set_scheme(int32_t, int32_t, int32_t, const char *, size_t);
// outgoing-request.body / outgoing-body.write -> result<own<...>>: u8 is_err @0; handle @4
IMPORT("wasi:http/types", "[method]outgoing-request.body") extern void request_body(int32_t, uint8_t *);
IMPORT("wasi:http/types", "[method]outgoing-body.write") extern void body_write(int32_t, uint8_t *);
IMPORT("wasi:http/types", "[resource-drop]outgoing-request") extern void request_drop(int32_t);
IMPORT("wasi:http/outgoing-handler", "handle") extern void http_handle(int32_t request, int32_t has_options, int32_t options, uint8_t *ret);
IMPORT("wasi:http/types", "[method]future-incoming-response.subscribe") extern int32_t future_subscribe(int32_t);
IMPORT("wasi:http/types", "[method]future-incoming-response.get") extern void future_get(int32_t, uint8_t *);
IMPORT("wasi:http/types", "[resource-drop]future-incoming-response") extern void future_drop(int32_t);
IMPORT("wasi:http/types", "[method]incoming-response.status") extern int32_t response_status(int32_t);
IMPORT("wasi:http/types", "[method]incoming-response.consume") extern void response_consume(int32_t, uint8_t *);
IMPORT("wasi:http/types", "[resource-drop]incoming-response") extern void response_drop(int32_t);
IMPORT("wasi:http/types", "[method]incoming-body.stream") extern void body_stream(int32_t, uint8_t *);
IMPORT("wasi:http/types", "[resource-drop]incoming-body") extern void body_drop(int32_t);

static const char *const HTTP_ERRORS[] __attribute__((unused)) = { "DNS-timeout", "DNS-error", "destination-not-found", "destination-unavailable",
  "destination-IP-prohibited", "destination-IP-unroutable", "connection-refused", "connection-terminated",
  "connection-timeout", "connection-read-timeout", "connection-write-timeout", "connection-limit-reached",
  "TLS-protocol-error", "TLS-certificate-error", "TLS-alert-received", "HTTP-request-denied" };


#endif
