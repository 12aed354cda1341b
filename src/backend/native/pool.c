// The thread pool behind pool.h. Workers sleep on a condition variable between jobs; a job
// is published by bumping `generation`. Both sides spin only briefly before sleeping: on a
// machine with more runnable threads than cores a spinning thread takes the core that the
// thread it waits for needs.

#include "pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sched.h>
#include <stdlib.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CPU_RELAX() _mm_pause()
#else
#define CPU_RELAX() ((void)0)
#endif

enum { SPINS = 2000, MAX_THREADS = 256 };

static struct {
  pthread_mutex_t lock;
  pthread_cond_t wake, done;
  pthread_mutex_t busy;  // held by the JavaScript thread whose job is running
  int workers;           // started so far: threads - 1 of the largest job
  atomic_uint generation;
  atomic_int pending;
  PoolTask task;
  void *job;
  int threads;
} pool = {.lock = PTHREAD_MUTEX_INITIALIZER,
          .wake = PTHREAD_COND_INITIALIZER,
          .done = PTHREAD_COND_INITIALIZER,
          .busy = PTHREAD_MUTEX_INITIALIZER};

typedef struct {
  int thread;
  unsigned seen;  // the generation of the last job before this worker started
} WorkerStart;

static void *worker_main(void *arg) {
  WorkerStart start = *(WorkerStart *)arg;
  free(arg);
  int thread = start.thread;
  unsigned seen = start.seen;
  for (;;) {
    unsigned generation;
    for (int i = 0; i < SPINS && (generation = atomic_load(&pool.generation)) == seen; i++) CPU_RELAX();
    if (generation == seen) {
      pthread_mutex_lock(&pool.lock);
      while ((generation = atomic_load(&pool.generation)) == seen) pthread_cond_wait(&pool.wake, &pool.lock);
      pthread_mutex_unlock(&pool.lock);
    }
    seen = generation;
    if (thread < pool.threads) pool.task(pool.job, thread, pool.threads);
    // Every worker reports back, taking part or not, so that none can still be reading this
    // job's fields when the next one is published.
    if (atomic_fetch_sub(&pool.pending, 1) == 1) {
      pthread_mutex_lock(&pool.lock);
      pthread_cond_signal(&pool.done);
      pthread_mutex_unlock(&pool.lock);
    }
  }
  return NULL;
}

// Starts workers until there are threads - 1; returns how many threads can take part.
static int ensure_workers(int threads) {
  while (pool.workers < threads - 1) {
    WorkerStart *start = malloc(sizeof *start);
    if (!start) break;
    *start = (WorkerStart){pool.workers + 1, atomic_load(&pool.generation)};
    pthread_t handle;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int failed = pthread_create(&handle, &attr, worker_main, start);
    pthread_attr_destroy(&attr);
    if (failed) {
      free(start);
      break;
    }
    pool.workers++;
  }
  return pool.workers + 1 < threads ? pool.workers + 1 : threads;
}

void pool_run(PoolTask task, void *job, int threads) {
  if (threads > MAX_THREADS) threads = MAX_THREADS;
  if (threads <= 1 || pthread_mutex_trylock(&pool.busy) != 0) {
    task(job, 0, 1);
    return;
  }
  threads = ensure_workers(threads);
  pool.task = task;
  pool.job = job;
  pool.threads = threads;
  atomic_store(&pool.pending, pool.workers);
  pthread_mutex_lock(&pool.lock);
  atomic_fetch_add(&pool.generation, 1);
  pthread_cond_broadcast(&pool.wake);
  pthread_mutex_unlock(&pool.lock);
  task(job, 0, threads);
  for (int i = 0; i < SPINS && atomic_load(&pool.pending) > 0; i++) CPU_RELAX();
  if (atomic_load(&pool.pending) > 0) {
    pthread_mutex_lock(&pool.lock);
    while (atomic_load(&pool.pending) > 0) pthread_cond_wait(&pool.done, &pool.lock);
    pthread_mutex_unlock(&pool.lock);
  }
  pthread_mutex_unlock(&pool.busy);
}

void pool_barrier(PoolBarrier *barrier, int threads) {
  if (threads <= 1) return;
  unsigned generation = __atomic_load_n(&barrier->generation, __ATOMIC_ACQUIRE);
  if (__atomic_add_fetch(&barrier->arrived, 1, __ATOMIC_ACQ_REL) == threads) {
    __atomic_store_n(&barrier->arrived, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&barrier->generation, generation + 1, __ATOMIC_RELEASE);
    return;
  }
  // A thread still missing may have lost its core: after a short spin, give ours up.
  for (int i = 0; __atomic_load_n(&barrier->generation, __ATOMIC_ACQUIRE) == generation; i++) {
    if (i < SPINS)
      CPU_RELAX();
    else
      sched_yield();
  }
}
