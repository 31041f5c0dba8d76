// A network client component: for each target in its config it tries a TCP connection
// (wasi:sockets, through ip-name-lookup for names) and an HTTP GET (wasi:http), and prints one
// line per attempt. Used by tests as the well-behaved client (allowed targets answer) and as the
// hostile one (targets outside its grant, by IP literal and by a name resolving to a protected
// address, must be refused). The wasi:sockets and wasi:http bindings are hand-written to the
// canonical ABI (include/wasi_net.h), against WASI 0.2.12.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bulkhead_host.h"

#include "wasi_net.h"



static int parse_ipv4(const char *s, int out[4]) {
  return sscanf(s, "%d.%d.%d.%d", &out[0], &out[1], &out[2], &out[3]) == 4;
}

// Connects to host:port (a name goes through ip-name-lookup first), sends a line, prints the answer.
static void tcp_probe(const char *label, const char *target) {
  char host[128];
  int port = 0;
  const char *colon = strrchr(target, ':');
  if (!colon || colon - target >= (long)sizeof host) { bh_logf("tcp %s: bad target %s", label, target); return; }
  memcpy(host, target, colon - target);
  host[colon - target] = 0;
  port = atoi(colon + 1);
  int32_t network = instance_network();
  int ip[4];
  _Alignas(8) uint8_t ret[64];
  if (!parse_ipv4(host, ip)) {
    resolve_addresses(network, host, strlen(host), ret);
    if (ret[0]) { bh_logf("tcp %s: resolve %s refused (%s)", label, host, SOCKET_ERRORS[ret[4]]); return; }
    int32_t stream = *(int32_t *)(ret + 4);
    resolve_next(stream, ret);
    resolve_drop(stream);
    if (ret[0] || !ret[2] || ret[4] != 0) { bh_logf("tcp %s: %s has no IPv4 address", label, host); return; }
    for (int i = 0; i < 4; i++) ip[i] = ret[6 + i];
  }
  create_tcp_socket(0 /* ipv4 */, ret);
  if (ret[0]) { bh_logf("tcp %s: socket refused (%s)", label, SOCKET_ERRORS[ret[4]]); return; }
  int32_t sock = *(int32_t *)(ret + 4);
  tcp_start_connect(sock, network, 0, port, ip[0], ip[1], ip[2], ip[3], 0, 0, 0, 0, 0, 0, ret);
  if (ret[0]) { bh_logf("tcp %s: connect refused (%s)", label, SOCKET_ERRORS[ret[1]]); tcp_drop(sock); return; }
  int32_t ready = tcp_subscribe(sock);
  pollable_block(ready);
  pollable_drop(ready);
  tcp_finish_connect(sock, ret);
  if (ret[0]) { bh_logf("tcp %s: connect refused (%s)", label, SOCKET_ERRORS[ret[4]]); tcp_drop(sock); return; }
  int32_t in = *(int32_t *)(ret + 4), out = *(int32_t *)(ret + 8);
  const char *hello = "ping\n";
  out_write(out, hello, strlen(hello), ret);
  in_read(in, 64, ret);
  if (ret[0]) bh_logf("tcp %s: connected, read failed", label);
  else {
    uint8_t *data = *(uint8_t **)(ret + 4);
    size_t len = *(size_t *)(ret + 8);
    bh_logf("tcp %s: connected, got \"%.*s\"", label, (int)(len && data[len - 1] == '\n' ? len - 1 : len), data);
    free(data);
  }
  in_drop(in);
  out_drop(out);
  tcp_drop(sock);
}

static void http_probe(const char *label, const char *authority) {
  int32_t req = request_new(fields_new());
  request_set_scheme(req, 1, 0 /* HTTP */, NULL, 0);
  request_set_authority(req, 1, authority, strlen(authority));
  request_set_path(req, 1, "/reading", 8);
  _Alignas(8) uint8_t ret[96];
  http_handle(req, 0, 0, ret);
  if (ret[0]) { bh_logf("http %s: refused (%s)", label, ret[8] < 16 ? HTTP_ERRORS[ret[8]] : "other"); return; }
  int32_t future = *(int32_t *)(ret + 8);
  int32_t ready = future_subscribe(future);
  pollable_block(ready);
  pollable_drop(ready);
  future_get(future, ret);
  future_drop(future);
  if (!ret[0] || ret[8]) { bh_logf("http %s: no response", label); return; }
  if (ret[16]) { bh_logf("http %s: refused (%s)", label, ret[24] < 16 ? HTTP_ERRORS[ret[24]] : "other"); return; }
  int32_t response = *(int32_t *)(ret + 24);
  int status = response_status(response);
  response_consume(response, ret);
  int32_t body = *(int32_t *)(ret + 4);
  body_stream(body, ret);
  int32_t stream = *(int32_t *)(ret + 4);
  in_read(stream, 256, ret);
  uint8_t *data = ret[0] ? NULL : *(uint8_t **)(ret + 4);
  size_t len = ret[0] ? 0 : *(size_t *)(ret + 8);
  bh_logf("http %s: status %d, body \"%.*s\"", label, status, (int)len, data ? (char *)data : "");
  free(data);
  in_drop(stream);
  body_drop(body);
  response_drop(response);
}

int main(void) {
  // Targets come from the deployment's parameters: tcp-NAME / http-NAME = host:port.
  static const char *names[] = { "tcp-allowed", "tcp-other-port", "tcp-by-name", "http-allowed", "http-by-name", "http-other-port" };
  for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
    bh_option_string_t v = bh_config_get(names[i]);
    if (!v.is_some) continue;
    char target[160] = {0};
    memcpy(target, v.value.ptr, v.value.len < 159 ? v.value.len : 159);
    free((void *)v.value.ptr);
    if (names[i][0] == 't') tcp_probe(names[i] + 4, target);
    else http_probe(names[i] + 5, target);
  }
  return 0;
}
