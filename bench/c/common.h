// common.h: what the bench's load generators (loadgen.c, chat_loadgen.c) share: the monotonic
// clock, CPU sampling of the server (/proc/PID/stat) and of the generator itself, and the latency
// histogram. Each program is one translation unit, so the histogram is its one latency histogram.
#ifndef WAKELOOP_BENCH_COMMON_H
#define WAKELOOP_BENCH_COMMON_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static inline uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

// Latency histogram: exact below 128 ns, then 64 linear steps per power of two (~1.6 %).
#define HIST_SIZE (64 * 40)
static uint64_t hist[HIST_SIZE], hist_n, hist_max;
static double hist_sum;

static inline void hist_add(uint64_t v) {
  size_t i;
  if (v < 128) {
    i = (size_t)v;
  } else {
    int shift = 63 - __builtin_clzll(v) - 6;
    i = (size_t)64 * (size_t)shift + (size_t)(v >> shift);
  }
  if (i >= HIST_SIZE) i = HIST_SIZE - 1;
  hist[i]++;
  hist_n++;
  hist_sum += (double)v;
  if (v > hist_max) hist_max = v;
}

static inline double hist_quantile(double q) {
  if (hist_n == 0) return 0;
  uint64_t rank = (uint64_t)(q * (double)(hist_n - 1)) + 1, seen = 0;
  for (size_t i = 0; i < HIST_SIZE; i++) {
    seen += hist[i];
    if (seen >= rank) {
      if (i < 128) return (double)i;
      size_t shift = i / 64 - 1, mant = i - 64 * shift;  // bucket [mant << shift, (mant+1) << shift)
      return ((double)mant + 0.5) * (double)(1ull << shift);
    }
  }
  return (double)hist_max;
}

// /proc/PID/stat: utime and stime are fields 14 and 15, counted after the ")" closing comm.
static inline long long proc_cpu_ticks(int pid) {
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  char *p = strrchr(buf, ')');
  unsigned long long ut, st;
  if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
    return -1;
  return (long long)(ut + st);
}

// This process's own utime+stime, in seconds.
static inline double cpu_seconds(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
         (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

// The first error, printed in the result's JSON; later errors are only counted.
static char first_error[256];

// Counts an error in *counter and keeps the first one's text, made safe inside a JSON string.
static void note_error(uint64_t *counter, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note_error(uint64_t *counter, const char *fmt, ...) {
  (*counter)++;
  if (first_error[0]) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(first_error, sizeof first_error, fmt, ap);
  va_end(ap);
  for (char *p = first_error; *p; p++) if (*p == '"' || *p == '\\' || *p < 0x20) *p = '\'';
}

#endif
