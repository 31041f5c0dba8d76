// A network client component: for each target in its config it tries a TCP connection
// (wasi:sockets, through ip-name-lookup for names and numeric forms such as 2130706433, IPv6
// literals as [addr]) and an HTTP GET (wasi:http), and prints one line per attempt. Used by tests
// as the well-behaved client (allowed targets answer) and as the hostile one (targets outside its
// grant, by IP literal, numeric shorthand, IPv6 embedding, the device's LAN address and a name
// resolving to a protected address, must be refused). The wasi:sockets and wasi:http bindings are hand-written to the
// canonical ABI (include/wasi_net.h), against WASI 0.2.12.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include "bulkhead_host.h"

#include "wasi_net.h"



// Connects to host:port (a name, or a numeric form only a resolver reads, goes through
// ip-name-lookup first; "[v6]" is an IPv6 literal), sends a line, prints the answer.
static void tcp_probe(const char *label, const char *target) {
  char host[128];
  int port = 0;
  const char *colon = strrchr(target, ':');
  if (!colon || colon - target >= (long)sizeof host) { bh_logf("tcp %s: bad target %s", label, target); return; }
  memcpy(host, target, colon - target);
  host[colon - target] = 0;
  port = atoi(colon + 1);
  int32_t network = instance_network();
  int family = 0; // 0: ipv4, 1: ipv6
  uint8_t v4[4];
  uint16_t v6[8];
  struct in6_addr a6;
  _Alignas(8) uint8_t ret[64];
  size_t hl = strlen(host);
  if (hl > 2 && host[0] == '[' && host[hl - 1] == ']') {
    host[hl - 1] = 0;
    if (inet_pton(AF_INET6, host + 1, &a6) != 1) { bh_logf("tcp %s: bad IPv6 address %s", label, host + 1); return; }
    family = 1;
    for (int i = 0; i < 8; i++) v6[i] = (uint16_t)(a6.s6_addr[2 * i] << 8 | a6.s6_addr[2 * i + 1]);
  } else if (inet_pton(AF_INET, host, v4) != 1) {
    resolve_addresses(network, host, strlen(host), ret);
    if (ret[0]) { bh_logf("tcp %s: resolve %s refused (%s)", label, host, SOCKET_ERRORS[ret[4]]); return; }
    int32_t stream = *(int32_t *)(ret + 4);
    resolve_next(stream, ret);
    resolve_drop(stream);
    if (ret[0] || !ret[2]) { bh_logf("tcp %s: %s has no address", label, host); return; }
    family = ret[4];
    if (family == 0) memcpy(v4, ret + 6, 4);
    else memcpy(v6, ret + 6, sizeof v6);
  }
  create_tcp_socket(family, ret);
  if (ret[0]) { bh_logf("tcp %s: socket refused (%s)", label, SOCKET_ERRORS[ret[4]]); return; }
  int32_t sock = *(int32_t *)(ret + 4);
  if (family == 0) tcp_start_connect(sock, network, 0, port, v4[0], v4[1], v4[2], v4[3], 0, 0, 0, 0, 0, 0, ret);
  else tcp_start_connect(sock, network, 1, port, 0, v6[0], v6[1], v6[2], v6[3], v6[4], v6[5], v6[6], v6[7], 0, ret);
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

// Runs one probe: a config key "tcp-LABEL" or "http-LABEL" whose value is host:port.
static void probe(const char *name) {
  char target[160];
  if (!bh_config_text(name, target, sizeof target)) return;
  if (strncmp(name, "tcp-", 4) == 0) tcp_probe(name + 4, target);
  else if (strncmp(name, "http-", 5) == 0) http_probe(name + 5, target);
}

int main(void) {
  // Targets come from the deployment's parameters: tcp-NAME / http-NAME = host:port, either the
  // names below or those listed (comma-separated) in the parameter "probes".
  bh_option_string_t list = bh_config_get("probes");
  if (list.is_some) {
    char names[1024] = {0};
    memcpy(names, list.value.ptr, list.value.len < 1023 ? list.value.len : 1023);
    free((void *)list.value.ptr);
    for (char *name = strtok(names, ","); name; name = strtok(NULL, ",")) probe(name);
    return 0;
  }
  static const char *names[] = { "tcp-allowed", "tcp-other-port", "tcp-by-name", "http-allowed", "http-by-name", "http-other-port" };
  for (size_t i = 0; i < sizeof names / sizeof *names; i++) probe(names[i]);
  return 0;
}
