// Names the calling thread as tools show it (top -H, perf, gdb, /proc/PID/task/*/comm), so
// that what each of the process's bounded set of threads does can be told apart under load.
#pragma once

#include <pthread.h>

namespace gyre {

// `name` is cut to the 15 characters Linux keeps.
inline void name_this_thread(const char* name) {
  char kept[16] = {};
  for (int i = 0; i < 15 && name[i] != '\0'; ++i)
    kept[i] = name[i];
  pthread_setname_np(pthread_self(), kept);
}

}  // namespace gyre
