// Process-spawning calls that Swift's Glibc module does not expose (or exposes only with
// _GNU_SOURCE): atomic close-on-exec pipes, in-kernel file copies, "close every descriptor from N" as a spawn file
// action, and pidfd_open (which has no glibc wrapper before 2.36 and is a raw syscall).
#ifndef CSPAWN_H
#define CSPAWN_H

#include <spawn.h>

/// pipe2(fds, O_CLOEXEC): both ends close-on-exec from the start, so a child spawned by
/// another thread in between can never inherit them. 0 or -1 (errno set).
int cspawn_pipe_cloexec(int fds[2]);

/// posix_spawn_file_actions_addclosefrom_np(actions, from) (glibc 2.34+): the child closes
/// every descriptor >= from after the dup2 actions. 0 or an error number.
int cspawn_addclosefrom(posix_spawn_file_actions_t *actions, int from);

/// A descriptor that becomes readable when process `pid` exits (close-on-exec), or -1
/// (errno set; ENOSYS on kernels older than 5.3).
int cspawn_pidfd_open(int pid);

/// copy_file_range(in, NULL, out, NULL, length, 0) (needs _GNU_SOURCE): copies inside the
/// kernel from both descriptors' offsets, moving them. Bytes copied, 0 at end, or -1 (errno).
long cspawn_copy_file_range(int in, int out, unsigned long length);

/// Sets O_NONBLOCK on fd. 0 or -1.
int cspawn_set_nonblocking(int fd);

/// Bytes waiting in the pipe `fd` (FIONREAD), or -1.
int cspawn_bytes_available(int fd);

#endif
