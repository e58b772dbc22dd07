// Thread-locals read on every callback live in the static TLS block: no __tls_get_addr
// call per access. The few bytes fit in the surplus glibc keeps for dlopen'ed libraries.
#pragma once

#define TPURING_FAST_TLS __attribute__((tls_model("initial-exec")))
