/*
 * crash.h - a fatal-signal handler that reports the crashing thread's
 * labels, then hands the signal on to the handler it replaced.
 */
#ifndef PYSCOPE_CRASH_H
#define PYSCOPE_CRASH_H

/* Install the handler for SIGSEGV, SIGABRT, SIGFPE and SIGBUS (and an
   alternate signal stack for the calling thread if it has none).  Returns
   0, or -1 with errno set; installing twice is a no-op. */
int pyscope_crash_install(void);

/* Put back the handlers that were there before, where ours is still the
   one installed.  Returns 0, or -1 with errno set. */
int pyscope_crash_uninstall(void);

#endif /* PYSCOPE_CRASH_H */
