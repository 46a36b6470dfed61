import CSpawn
#if canImport(Glibc)
import Glibc
#endif

/// Runs a program and collects its output, with posix_spawn.
///
/// The child starts with an empty signal mask and default SIGCHLD/SIGPIPE/SIGINT/SIGTERM
/// handling, whatever the spawning thread had: a shell whose SIGCHLD stayed blocked would hang
/// in `wait`, and one that inherited an ignored SIGPIPE would not stop when its reader goes away.
///
/// Descriptors: the pipes are created close-on-exec atomically (`pipe2`), so a child that
/// another thread spawns at the same moment cannot inherit them, and the child closes every
/// descriptor but 0–2 (`posix_spawn_file_actions_addclosefrom_np`), so nothing mlbuild
/// inherited or opened without `O_CLOEXEC` reaches it.
///
/// Waiting: output is read until the child itself exits, not until every copy of its pipes is
/// closed. A background process the child left behind (`sleep 60 &`) keeps the pipes open;
/// what the child wrote is read, and the rest is not waited for (as `make` does).
public enum ChildProcess {
    public struct Result: Sendable {
        public var status: Int32
        public var stdout: [UInt8]
        public var stderr: [UInt8]
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    public enum Stream: Sendable { case stdout, stderr }

    /// Runs `executable` with `arguments` (argv[1...]) and exactly `environment`. With
    /// `mergeOutput`, stderr goes into the stdout pipe (one interleaved stream). `directory`
    /// is applied through `/usr/bin/env -C`. Returns the exit status (128+N for signal N).
    public static func run(_ executable: String, _ arguments: [String], environment: [String: String],
                           directory: String? = nil, stdin: [UInt8]? = nil, mergeOutput: Bool = false) throws -> Result {
        var stdout: [UInt8] = [], stderr: [UInt8] = []
        let status = try run(executable, arguments, environment: environment, directory: directory, stdin: stdin,
                             mergeOutput: mergeOutput) { stream, bytes in
            if stream == .stdout { stdout.append(contentsOf: bytes) } else { stderr.append(contentsOf: bytes) }
        }
        return Result(status: status, stdout: stdout, stderr: stderr)
    }

    /// As `run`, handing each piece of output to `onOutput` as it arrives (on the calling
    /// thread) instead of collecting it: for output too big to hold.
    ///
    /// With `ownProcessGroup`, the child leads a new process group (its pid is the group id),
    /// so that cancelling it reaches whatever it started (`ProcessGroupTermination`); `onStart`
    /// receives the pid as soon as the child exists.
    public static func run(_ executable: String, _ arguments: [String], environment: [String: String],
                           directory: String? = nil, stdin: [UInt8]? = nil, mergeOutput: Bool = false,
                           ownProcessGroup: Bool = false, onStart: ((pid_t) -> Void)? = nil,
                           onOutput: (Stream, UnsafeRawBufferPointer) -> Void) throws -> Int32 {
        var argv = [executable] + arguments
        var program = executable
        if let directory {
            argv = ["/usr/bin/env", "-C", directory, "--"] + argv
            program = "/usr/bin/env"
        }
        // Read ends stay with us, write ends go to the child (for stdin the other way round).
        let output = try makePipe()
        let errors: (read: Int32, write: Int32)
        do { errors = mergeOutput ? (-1, -1) : try makePipe() } catch {
            closeAll([output.read, output.write])
            throw error
        }
        let input: (read: Int32, write: Int32)
        do { input = try makePipe() } catch {
            closeAll([output.read, output.write, errors.read, errors.write])
            throw error
        }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, input.read, 0)
        posix_spawn_file_actions_adddup2(&actions, output.write, 1)
        posix_spawn_file_actions_adddup2(&actions, mergeOutput ? output.write : errors.write, 2)
        let closeRC = cspawn_addclosefrom(&actions, 3)
        guard closeRC == 0 else {
            closeAll([output.read, output.write, errors.read, errors.write, input.read, input.write])
            throw Failure(description: "cannot prepare to start \(executable): \(String(cString: strerror(closeRC)))")
        }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGCHLD, SIGPIPE, SIGINT, SIGTERM, SIGQUIT, SIGHUP] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF
        if ownProcessGroup {
            posix_spawnattr_setpgroup(&attributes, 0)
            flags |= POSIX_SPAWN_SETPGROUP
        }
        posix_spawnattr_setflags(&attributes, Int16(flags))

        let envp = environment.keys.sorted().map { "\($0)=\(environment[$0] ?? "")" }
        var cArgv = argv.map { strdup($0) } + [nil]
        var cEnvp = envp.map { strdup($0) } + [nil]
        defer {
            for p in cArgv { free(p) }
            for p in cEnvp { free(p) }
        }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, program, &actions, &attributes, &cArgv, &cEnvp)
        closeAll([output.write, errors.write, input.read])
        guard rc == 0 else {
            closeAll([output.read, errors.read, input.write])
            throw Failure(description: "cannot start \(executable): \(String(cString: strerror(rc)))")
        }
        onStart?(pid)
        if let stdin {
            var offset = 0
            while offset < stdin.count {
                let n = stdin[offset...].withUnsafeBytes { write(input.write, $0.baseAddress, $0.count) }
                if n < 0, errno == EINTR { continue }
                if n <= 0 { break }
                offset += n
            }
        }
        close(input.write)

        // Readable when the child exits (Linux 5.3+); without it, poll with a timeout and ask.
        let exitNotifier = cspawn_pidfd_open(pid)
        defer { if exitNotifier >= 0 { close(exitNotifier) } }
        var fds = [pollfd(fd: output.read, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: errors.read, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: exitNotifier, events: Int16(POLLIN), revents: 0)]
        let streams: [Stream] = [.stdout, .stderr]
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        var status: Int32 = 0
        var reaped = false

        /// One read from pipe `index`: hands the bytes on, or closes the pipe at its end.
        func readOnce(_ index: Int) {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fds[index].fd, $0.baseAddress, $0.count) }
            if n < 0, errno == EINTR || errno == EAGAIN { return }
            if n <= 0 {
                close(fds[index].fd)
                fds[index].fd = -1
                return
            }
            chunk.withUnsafeBytes { onOutput(streams[index], UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        }

        while fds[0].fd >= 0 || fds[1].fd >= 0 {
            if poll(&fds, 3, exitNotifier >= 0 ? -1 : 100) < 0 {
                if errno == EINTR { continue }
                break
            }
            for i in 0..<2 where fds[i].fd >= 0 && fds[i].revents != 0 { readOnce(i) }
            let exited: Bool
            if exitNotifier >= 0 {
                exited = fds[2].revents != 0
            } else {
                let r = waitpid(pid, &status, WNOHANG)
                reaped = r == pid
                exited = reaped || (r < 0 && errno != EINTR)
            }
            guard exited else { continue }
            // The child is gone: everything it wrote is in the pipes now. Take exactly that, so a
            // descendant that still holds them open (and maybe writes on) cannot keep us here.
            for i in 0..<2 where fds[i].fd >= 0 {
                _ = cspawn_set_nonblocking(fds[i].fd)
                var left = Int(max(0, cspawn_bytes_available(fds[i].fd)))
                while left > 0, fds[i].fd >= 0 {
                    let before = left
                    let n = chunk.withUnsafeMutableBytes { Glibc.read(fds[i].fd, $0.baseAddress, min(before, $0.count)) }
                    if n < 0, errno == EINTR { continue }
                    if n <= 0 { break }
                    chunk.withUnsafeBytes { onOutput(streams[i], UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
                    left -= n
                }
                close(fds[i].fd)
                fds[i].fd = -1
            }
        }
        for i in 0..<2 where fds[i].fd >= 0 { close(fds[i].fd) }
        while !reaped, waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { throw Failure(description: "waiting for \(executable) failed: \(String(cString: strerror(errno)))") }
        }
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }

    private static func makePipe() throws -> (read: Int32, write: Int32) {
        var fds: [Int32] = [-1, -1]
        guard cspawn_pipe_cloexec(&fds) == 0 else {
            throw Failure(description: "cannot create a pipe: \(String(cString: strerror(errno)))")
        }
        return (fds[0], fds[1])
    }

    private static func closeAll(_ fds: [Int32]) {
        for fd in fds where fd >= 0 { close(fd) }
    }
}
