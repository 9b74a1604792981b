/* Callgrind's client requests for bench/hotpaths.py --ab (instructions per
 * request): compiled by bench/common.py's callgrind_toggles() and called
 * through ctypes, so that only the timed requests are instrumented (a
 * no-op outside valgrind). */
#include <valgrind/callgrind.h>

void jishi_callgrind_start(void) {
    CALLGRIND_ZERO_STATS;
    CALLGRIND_START_INSTRUMENTATION;
}

void jishi_callgrind_stop(const char *name) {
    CALLGRIND_STOP_INSTRUMENTATION;
    CALLGRIND_DUMP_STATS_AT(name);
}
