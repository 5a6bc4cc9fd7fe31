// rusage_exec OUT COMMAND [ARGS...]: runs COMMAND, waits for it and writes
// "WALL_NS UTIME_US STIME_US MAXRSS_KIB STATUS" to the file OUT.
//
// Why not wait4() from the Python script itself: Linux carries a process's
// peak RSS across exec (the old address space's high-water mark goes into the
// process's maxrss), and a child forked from Python starts with Python's
// 10-15 MiB resident. Forked from this small program, the child's ru_maxrss
// is its own (and that of the descendants it waited for). Built by
// bench/git_clone.py with cc.
#define _GNU_SOURCE
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: rusage_exec OUT COMMAND [ARGS...]\n");
    return 2;
  }
  struct timespec start, end;
  clock_gettime(CLOCK_MONOTONIC, &start);
  pid_t child = fork();
  if (child < 0) {
    perror("rusage_exec: fork");
    return 2;
  }
  if (child == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL); // the command dies with this program, as this one with the script
    execvp(argv[2], argv + 2);
    perror("rusage_exec: exec");
    _exit(127);
  }
  int status;
  struct rusage usage;
  if (wait4(child, &status, 0, &usage) < 0) {
    perror("rusage_exec: wait4");
    return 2;
  }
  clock_gettime(CLOCK_MONOTONIC, &end);
  FILE* out = fopen(argv[1], "w");
  if (!out) {
    perror("rusage_exec: open OUT");
    return 2;
  }
  long long wall = (end.tv_sec - start.tv_sec) * 1000000000LL + (end.tv_nsec - start.tv_nsec);
  fprintf(out, "%lld %lld %lld %ld %d\n", wall, (long long)usage.ru_utime.tv_sec * 1000000 + usage.ru_utime.tv_usec,
          (long long)usage.ru_stime.tv_sec * 1000000 + usage.ru_stime.tv_usec, usage.ru_maxrss,
          WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
  fclose(out);
  return 0;
}
