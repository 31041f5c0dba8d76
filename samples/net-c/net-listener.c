// A TCP server component: binds the port in its config (`port`), listens, accepts one connection,
// answers the line it receives with "hello <line>", and exits. Binding is allowed only on ports
// the grant's net.listen names (ports from the vendor's range in the operator's policy); tests run
// it on a granted port and on one outside the range. Bindings: include/wasi_net.h.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bulkhead_host.h"
#include "wasi_net.h"


int main(void) {
  char text[16];
  if (!bh_config_text("port", text, sizeof text)) { bh_logf("listener: no port configured"); return 2; }
  int port = atoi(text);

  _Alignas(8) uint8_t ret[64];
  int32_t network = instance_network();
  create_tcp_socket(0 /* ipv4 */, ret);
  if (ret[0]) { bh_logf("listener: socket refused (%s)", SOCKET_ERRORS[ret[4]]); return 1; }
  int32_t sock = *(int32_t *)(ret + 4);
  tcp_start_bind(sock, network, 0, port, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, ret);
  if (ret[0]) { bh_logf("listener: bind 127.0.0.1:%d refused (%s)", port, SOCKET_ERRORS[ret[1]]); return 0; }
  tcp_finish_bind(sock, ret);
  if (ret[0]) { bh_logf("listener: bind 127.0.0.1:%d failed (%s)", port, SOCKET_ERRORS[ret[1]]); return 1; }
  tcp_start_listen(sock, ret);
  if (!ret[0]) tcp_finish_listen(sock, ret);
  if (ret[0]) { bh_logf("listener: listen on %d failed (%s)", port, SOCKET_ERRORS[ret[1]]); return 1; }
  bh_logf("listener: listening on 127.0.0.1:%d", port);

  int32_t ready = tcp_subscribe(sock);
  pollable_block(ready);
  pollable_drop(ready);
  tcp_accept(sock, ret);
  if (ret[0]) { bh_logf("listener: accept failed (%s)", SOCKET_ERRORS[ret[4]]); return 1; }
  int32_t client = *(int32_t *)(ret + 4), in = *(int32_t *)(ret + 8), out = *(int32_t *)(ret + 12);
  in_read(in, 64, ret);
  if (ret[0]) { bh_logf("listener: read failed"); return 1; }
  uint8_t *data = *(uint8_t **)(ret + 4);
  size_t len = *(size_t *)(ret + 8);
  while (len && (data[len - 1] == '\n' || data[len - 1] == '\r')) len--;
  char reply[96];
  int n = snprintf(reply, sizeof reply, "hello %.*s\n", (int)len, data);
  free(data);
  out_write(out, reply, (size_t)n, ret);
  bh_logf("listener: answered one client");
  in_drop(in);
  out_drop(out);
  tcp_drop(client);
  tcp_drop(sock);
  return 0;
}
