// A persistent pool of native threads for the kernels: the calling thread runs share 0 of a
// job and the workers the rest, all entering the same function.

#ifndef CHAINRULE_POOL_H
#define CHAINRULE_POOL_H

typedef void (*PoolTask)(void *job, int thread, int threads);

// Runs task(job, t, threads) for t in [0, threads) and returns when all have finished.
// Starts workers on first use; a job from a second JavaScript thread while one is running
// runs on its caller alone.
void pool_run(PoolTask task, void *job, int threads);

// A barrier for the threads of one job (zero-initialised): pool_barrier returns once all
// `threads` of them have called it.
typedef struct {
  int arrived;
  unsigned generation;
} PoolBarrier;

void pool_barrier(PoolBarrier *barrier, int threads);

#endif
