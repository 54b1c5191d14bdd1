/*
 * The background sync of the audit log, for sync "batch" and "interval".
 *
 * The event loop write()s each batch of records itself (so a gateway killed
 * with SIGKILL loses nothing it acknowledged: the bytes are in the page
 * cache), but an fdatasync() takes tens to hundreds of microseconds of disk
 * wait, during which the loop would answer nobody. So the loop only asks:
 * one thread waits for a request, samples how many records had been
 * written when it was asked, fdatasyncs, and publishes that count as
 * durable. The loop keeps the documented bound itself: when a commit would
 * leave sync_batch records written but not durable, it syncs inline
 * (writer.c), so the bound never depends on how fast this thread is.
 *
 * Seals, rotation, close and sync "every" still sync inline; the thread
 * never touches the key file.
 */
#include "audit/writer_priv.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#define SYNCER_STACK (64u * 1024u)

struct audit_syncer {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t wake;         /* the loop asks */
	pthread_cond_t idle;         /* the thread has nothing in hand */
	/* under mu */
	int fd;
	int kick;                    /* a request is waiting */
	_Atomic int busy;            /* an fdatasync is running (set under mu;
	                                the loop reads it without) */
	int stop;
	int paused;                  /* test hook: a disk that never answers */
	int hold;                    /* test hook: a sync that has begun and
	                                does not end until released */
	uint64_t target;             /* records written when asked */
	/* read by the loop without the lock */
	_Atomic uint64_t durable;    /* records a finished fdatasync covers */
	_Atomic uint64_t syncs;
	_Atomic int error;           /* errno of a failed fdatasync; sticky */
};

static void
publish(struct audit_syncer *s, uint64_t target)
{
	uint64_t d = atomic_load(&s->durable);

	while (d < target && !atomic_compare_exchange_weak(&s->durable, &d, target))
		;
}

static void *
syncer_main(void *arg)
{
	struct audit_syncer *s = arg;
	uint64_t target;
	int fd, rc;

	pthread_mutex_lock(&s->mu);
	for (;;) {
		while ((!s->kick || s->paused) && !s->stop)
			pthread_cond_wait(&s->wake, &s->mu);
		if (!s->kick)
			break;
		target = s->target;
		fd = s->fd;
		s->kick = 0;
		s->busy = 1;
#ifdef CG_AUDIT_TEST_HOOKS
		/* wakes audit_syncer_await(s, 1); then, held, the sync
		 * "runs" until the test releases it */
		pthread_cond_broadcast(&s->idle);
		while (s->hold && !s->stop)
			pthread_cond_wait(&s->wake, &s->mu);
#endif
		pthread_mutex_unlock(&s->mu);
		rc = fdatasync(fd);
		if (rc != 0)
			atomic_store(&s->error, errno ? errno : EIO);
		pthread_mutex_lock(&s->mu);
		s->busy = 0;
		if (rc == 0) {
			atomic_fetch_add(&s->syncs, 1);
			publish(s, target);
		}
		/* waiters check what they wait for: no sync running (pause),
		 * or none running and none asked (set_fd) */
		pthread_cond_broadcast(&s->idle);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

struct audit_syncer *
audit_syncer_start(int fd, uint64_t durable)
{
	struct audit_syncer *s = calloc(1, sizeof(*s));
	pthread_attr_t attr;
	sigset_t all, old;
	int rc;

	if (s == NULL)
		return NULL;
	s->fd = fd;
	atomic_init(&s->durable, durable);
	atomic_init(&s->syncs, 0);
	atomic_init(&s->error, 0);
	if (pthread_mutex_init(&s->mu, NULL) != 0) {
		free(s);
		return NULL;
	}
	pthread_cond_init(&s->wake, NULL);
	pthread_cond_init(&s->idle, NULL);
	/* The gateway takes its signals through a signalfd: this thread must
	 * never be the one the kernel picks to deliver one to. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, SYNCER_STACK);
	rc = pthread_create(&s->thread, &attr, syncer_main, s);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		pthread_cond_destroy(&s->wake);
		pthread_cond_destroy(&s->idle);
		pthread_mutex_destroy(&s->mu);
		free(s);
		return NULL;
	}
	return s;
}

void
audit_syncer_kick(struct audit_syncer *s, uint64_t written, int queue)
{
	/* A sync that is running covers what had been written when it
	 * began. Asked again meanwhile by a commit (batch), the thread
	 * would start another the moment it finished, for the few records
	 * written since (twice the fdatasyncs), and every commit would take
	 * the lock: the loop asks again after it, if the lag is still large,
	 * and its inline sync keeps the bound whatever the thread does. The
	 * interval's tick asks once (queue): its request waits for the
	 * running sync and is served after it. */
	if (!queue && atomic_load(&s->busy))
		return;
	pthread_mutex_lock(&s->mu);
	if (written > s->target || !s->kick) {
		s->target = written;
		s->kick = 1;
		pthread_cond_signal(&s->wake);
	}
	pthread_mutex_unlock(&s->mu);
}

uint64_t
audit_syncer_durable(struct audit_syncer *s)
{
	return atomic_load(&s->durable);
}

void
audit_syncer_note(struct audit_syncer *s, uint64_t durable)
{
	publish(s, durable);
}

int
audit_syncer_error(struct audit_syncer *s)
{
	return atomic_load(&s->error);
}

uint64_t
audit_syncer_count(struct audit_syncer *s)
{
	return atomic_load(&s->syncs);
}

/* Waits until no request is pending or running, then (fd >= 0) points the
 * thread at fd: the loop is about to close the one it had (rotation). */
void
audit_syncer_set_fd(struct audit_syncer *s, int fd)
{
	pthread_mutex_lock(&s->mu);
	while (s->busy || s->kick)
		pthread_cond_wait(&s->idle, &s->mu);
	s->fd = fd;
	pthread_mutex_unlock(&s->mu);
}

#ifdef CG_AUDIT_TEST_HOOKS
/* Paused, the thread starts no sync; a pause returns once the sync that
 * was running, if any, has finished, so what the test asks for from then
 * on waits as a request the thread holds (a request made while a sync
 * runs is dropped: audit_syncer_kick). */
void
audit_syncer_pause(struct audit_syncer *s, int paused)
{
	pthread_mutex_lock(&s->mu);
	while (paused && s->busy)
		pthread_cond_wait(&s->idle, &s->mu);
	s->paused = paused;
	pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->mu);
}

/* Held, a sync the thread begins stays running (busy) until released. */
void
audit_syncer_hold(struct audit_syncer *s, int hold)
{
	pthread_mutex_lock(&s->mu);
	s->hold = hold;
	pthread_cond_broadcast(&s->wake);
	pthread_mutex_unlock(&s->mu);
}

/* Waits until a sync is running (busy) or, busy 0, until none is running
 * and none is asked for. */
void
audit_syncer_await(struct audit_syncer *s, int busy)
{
	pthread_mutex_lock(&s->mu);
	while (busy ? !s->busy : (s->busy || s->kick))
		pthread_cond_wait(&s->idle, &s->mu);
	pthread_mutex_unlock(&s->mu);
}
#endif

void
audit_syncer_stop(struct audit_syncer *s)
{
	if (s == NULL)
		return;
	pthread_mutex_lock(&s->mu);
	s->stop = 1;
	pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->thread, NULL);
	pthread_cond_destroy(&s->wake);
	pthread_cond_destroy(&s->idle);
	pthread_mutex_destroy(&s->mu);
	free(s);
}
