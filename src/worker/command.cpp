// The command executor (command.hpp): posix_spawn into a new process group, poll() on its
// two output pipes, waitpid() for its end, signals to its group to stop it.

#include "worker/command.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <dirent.h>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

#include "pangeo_forge/error.hpp"

extern char** environ;

namespace pangeo_forge::worker::detail {
namespace {

using Clock = std::chrono::steady_clock;

// A pipe whose ends are closed on exec: a command started by another run's thread at the
// same moment must not inherit them (it would hold this command's output open).
struct Pipe {
    int read = -1;
    int write = -1;
    Pipe() {
        int ends[2];
        if (pipe2(ends, O_CLOEXEC) != 0) throw Error(std::string("cannot make a pipe: ") + std::strerror(errno));
        read = ends[0];
        write = ends[1];
    }
    ~Pipe() {
        close_read();
        close_write();
    }
    void close_read() {
        if (read >= 0) ::close(read);
        read = -1;
    }
    void close_write() {
        if (write >= 0) ::close(write);
        write = -1;
    }
};

std::vector<std::string> environment_with(const std::vector<std::pair<std::string, std::string>>& added) {
    std::map<std::string, std::string> ours(added.begin(), added.end());
    std::vector<std::string> out;
    for (char** entry = environ; entry && *entry; ++entry) {
        std::string_view text(*entry);
        auto name = text.substr(0, text.find('='));
        if (ours.count(std::string(name)) == 0) out.emplace_back(text);
    }
    for (const auto& [name, value] : added) out.push_back(name + "=" + value);
    return out;
}

// Whether a process of the group is still alive: a zombie is gone (it is only waiting to be
// reaped, and a zombie whose parent never reaps it would otherwise keep its group forever).
bool group_exists(pid_t group) {
    if (kill(-group, 0) != 0 && errno == ESRCH) return false;
    DIR* proc = opendir("/proc");
    if (proc == nullptr) return true;  // no /proc: kill() has the last word
    bool alive = false;
    while (dirent* entry = readdir(proc)) {
        if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
        std::ifstream file(std::string("/proc/") + entry->d_name + "/stat");
        std::string stat;
        std::getline(file, stat);
        // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses.
        auto close = stat.rfind(')');
        if (close == std::string::npos) continue;
        char state = 0;
        long parent = 0, process_group = 0;
        if (std::sscanf(stat.c_str() + close + 1, " %c %ld %ld", &state, &parent, &process_group) != 3) continue;
        if (process_group == group && state != 'Z' && state != 'X') {
            alive = true;
            break;
        }
    }
    closedir(proc);
    return alive;
}

// The worker takes in the orphans of its commands (when their parent ends first) instead of
// leaving them to PID 1, which may be the worker itself in a container, or a process that
// reaps nothing: so it can reap its commands' whole process groups.
void become_subreaper(const std::function<void(const std::string&)>& log) {
    static std::once_flag once;
    std::call_once(once, [&] {
        if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0 && log) {
            log(std::string("cannot become the subreaper of the commands' orphans: ") + std::strerror(errno));
        }
    });
}

// The groups of finished commands whose stragglers (processes they left running) are the
// worker's children now: reaped when a later command starts, so they do not pile up as zombies.
std::mutex leftover_mutex;
std::vector<pid_t> leftover_groups;

void reap_leftovers() {
    std::lock_guard lock(leftover_mutex);
    for (auto it = leftover_groups.begin(); it != leftover_groups.end();) {
        pid_t reaped = 0;
        while ((reaped = waitpid(-*it, nullptr, WNOHANG)) > 0) {
        }
        it = reaped < 0 ? leftover_groups.erase(it) : it + 1;  // ECHILD: none of it is ours any more
    }
}

void keep_leftovers(pid_t group) {
    pid_t reaped = 0;
    while ((reaped = waitpid(-group, nullptr, WNOHANG)) > 0) {
    }
    if (reaped == 0) {
        std::lock_guard lock(leftover_mutex);
        leftover_groups.push_back(group);
    }
}

}  // namespace

std::string CommandResult::ending() const {
    if (!started) return "could not start: " + start_error;
    if (exited) return "exited with status " + std::to_string(exit_status);
    const char* name = sigabbrev_np(signal);
    return "killed by signal " + std::to_string(signal) + (name ? std::string(" (SIG") + name + ")" : std::string());
}

CommandResult run_command(const std::vector<std::string>& arguments,
                          const std::vector<std::pair<std::string, std::string>>& environment, const StopToken& stop,
                          const CommandLimits& limits, const std::function<void(const std::string&)>& log) {
    CommandResult result;
    if (arguments.empty()) {
        result.start_error = "the command is empty";
        return result;
    }
    Pipe out;
    Pipe err;

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, out.write, STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, err.write, STDERR_FILENO);
    // Nothing else: libcurl's sockets and other descriptors not marked close-on-exec stay ours.
    posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    // Its own process group, so that a stop reaches everything it started. The signal mask
    // and dispositions are the defaults: `pangeo-forge worker` blocks SIGTERM in its threads
    // to take it on one, and a command inheriting that mask could not be stopped politely.
    sigset_t none;
    sigemptyset(&none);
    sigset_t defaults;
    sigemptyset(&defaults);
    for (int number : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE, SIGCHLD}) sigaddset(&defaults, number);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    posix_spawnattr_setpgroup(&attributes, 0);
    posix_spawnattr_setsigmask(&attributes, &none);
    posix_spawnattr_setsigdefault(&attributes, &defaults);

    std::vector<std::string> argument_texts = arguments;
    std::vector<char*> argv;
    for (auto& argument : argument_texts) argv.push_back(argument.data());
    argv.push_back(nullptr);
    auto environment_texts = environment_with(environment);
    std::vector<char*> envp;
    for (auto& entry : environment_texts) envp.push_back(entry.data());
    envp.push_back(nullptr);

    become_subreaper(log);
    reap_leftovers();
    pid_t pid = 0;
    int spawn_error = posix_spawnp(&pid, argv[0], &actions, &attributes, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    out.close_write();
    err.close_write();
    if (spawn_error != 0) {
        result.start_error = "'" + arguments.front() + "': " + std::strerror(spawn_error);
        return result;
    }
    result.started = true;

    LineSplitter out_lines(limits.max_line_bytes);
    LineSplitter err_lines(limits.max_line_bytes);
    OutputTail tail(limits.tail_lines, limits.tail_bytes);
    auto on_out = [&](const std::string& line, bool cut) {
        auto parsed = parse_output_line(line);
        if (parsed.kind == OutputLine::Kind::submitted) result.submitted = parsed;
        if (log) log(parsed.kind == OutputLine::Kind::text ? line + (cut ? " [cut]" : "") : parsed.json.dump());
    };
    auto on_err = [&](const std::string& line, bool cut) {
        if (log) log("stderr: " + line + (cut ? " [cut]" : ""));
    };

    std::optional<Clock::time_point> exited_at;
    std::optional<Clock::time_point> term_sent_at;
    std::optional<Clock::time_point> kill_sent_at;
    // After SIGKILL, how long the group may take to go before the worker stops waiting for it
    // (a process stuck in the kernel): the run must not stay claimed forever.
    const auto kill_limit = std::max<std::chrono::milliseconds>(limits.kill_grace, std::chrono::milliseconds(1000));
    char buffer[16384];
    for (;;) {
        // The command and, once they are the worker's (become_subreaper), the orphans of its group.
        auto ended = [&](int status) {
            exited_at = Clock::now();
            result.exited = WIFEXITED(status);
            result.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 0;
            result.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
        };
        for (int status = 0;;) {
            pid_t reaped = waitpid(-pid, &status, WNOHANG);
            if (reaped <= 0) break;
            if (reaped == pid && !exited_at) ended(status);
        }
        if (!exited_at) {
            // The command itself, should it have moved to another process group.
            int status = 0;
            if (waitpid(pid, &status, WNOHANG) == pid) ended(status);
        }
        if (stop.stop_requested()) {
            if (!term_sent_at) {
                if (log) log("stopping the command (" + std::string(to_string(stop.reason())) + "): SIGTERM to its process group");
                kill(-pid, SIGTERM);
                term_sent_at = Clock::now();
                result.stop_sent = true;
            } else if (!kill_sent_at && Clock::now() - *term_sent_at >= limits.kill_grace) {
                if (log) log("the command did not stop within the kill grace: SIGKILL to its process group");
                kill(-pid, SIGKILL);
                kill_sent_at = Clock::now();
            }
        }
        if (kill_sent_at && Clock::now() - *kill_sent_at >= kill_limit &&
            (!exited_at || group_exists(pid))) {
            if (log) {
                log("the command's process group " + std::to_string(pid) + " is still there " +
                    std::to_string(kill_limit.count()) + " ms after SIGKILL: no longer waiting for it");
            }
            if (!exited_at) result.signal = SIGKILL;
            break;
        }
        const bool pipes_open = out.read >= 0 || err.read >= 0;
        if (exited_at) {
            // A stopped command's whole group must be gone before its run is reported
            // released or left to another attempt; a finished one's stragglers are its own.
            const bool group_done = !term_sent_at || !group_exists(pid);
            const bool output_done = !pipes_open || Clock::now() - *exited_at >= limits.linger;
            if (group_done && output_done) break;
        }
        if (!pipes_open) {
            // Poll a little for the end of the process (group): waitpid() has no timeout.
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
            continue;
        }
        pollfd fds[2];
        nfds_t count = 0;
        for (int fd : {out.read, err.read}) {
            if (fd >= 0) fds[count++] = pollfd{fd, POLLIN, 0};
        }
        // 100 ms: how soon a stop request, or the end of a process that left its output
        // open to a grandchild, is seen.
        int ready = poll(fds, count, 100);
        if (ready < 0 && errno != EINTR) {
            // Its output cannot be watched any more: end it, and reap it as a stopped one.
            if (log) log(std::string("cannot watch the command's output (") + std::strerror(errno) +
                         "): SIGKILL to its process group");
            kill(-pid, SIGKILL);
            if (!term_sent_at) term_sent_at = Clock::now();
            if (!kill_sent_at) kill_sent_at = Clock::now();
            out.close_read();
            err.close_read();
            continue;
        }
        for (nfds_t i = 0; i < count && ready > 0; ++i) {
            if (fds[i].revents == 0) continue;
            const bool is_out = fds[i].fd == out.read;
            ssize_t got = read(fds[i].fd, buffer, sizeof buffer);
            if (got > 0) {
                std::string_view chunk(buffer, static_cast<std::size_t>(got));
                if (is_out) {
                    out_lines.feed(chunk, on_out);
                } else {
                    tail.append(chunk);
                    err_lines.feed(chunk, on_err);
                }
            } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
                (is_out ? out : err).close_read();
            }
        }
    }
    keep_leftovers(pid);
    out_lines.finish(on_out);
    err_lines.finish(on_err);
    result.error_tail = tail.text();
    return result;
}

}  // namespace pangeo_forge::worker::detail
