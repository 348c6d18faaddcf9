#pragma once
// The command executor: one command per run, in a process group of its own, its standard
// output read as the runner's JSON lines and the end of its error output kept for the trace.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pangeo_forge/worker/worker.hpp"

namespace pangeo_forge::worker::detail {

// Splits a stream into lines, each at most max_bytes (the rest of a longer line is dropped
// up to its '\n'), so that a command writing without line ends costs bounded memory.
// `each(line, cut)` gets every line without its '\n'; `cut`: it was longer and lost its end.
class LineSplitter {
public:
    explicit LineSplitter(std::size_t max_bytes) : max_bytes_(max_bytes) {}

    template <class Each>
    void feed(std::string_view chunk, Each&& each) {
        while (!chunk.empty()) {
            auto end = chunk.find('\n');
            auto piece = chunk.substr(0, end);
            if (!cut_) {
                auto room = max_bytes_ - partial_.size();
                if (piece.size() > room) {
                    partial_.append(piece.substr(0, room));
                    cut_ = true;
                } else {
                    partial_.append(piece);
                }
            }
            if (end == std::string_view::npos) return;
            each(partial_, cut_);
            partial_.clear();
            cut_ = false;
            chunk.remove_prefix(end + 1);
        }
    }

    template <class Each>
    void finish(Each&& each) {
        if (!partial_.empty() || cut_) each(partial_, cut_);
        partial_.clear();
        cut_ = false;
    }

private:
    std::size_t max_bytes_;
    std::string partial_;
    bool cut_ = false;
};

struct CommandLimits {
    std::size_t max_line_bytes = 64 * 1024;  // a longer output line is cut (the rest is dropped up to its '\n')
    std::size_t tail_lines = 50;             // kept of the error output, for the trace
    std::size_t tail_bytes = 16 * 1024;
    std::chrono::milliseconds kill_grace{10000};   // SIGTERM, then SIGKILL after this
    std::chrono::milliseconds linger{2000};        // output read after the command exited
};

struct CommandResult {
    bool started = false;
    std::string start_error;  // when not started: why
    bool exited = false;      // else killed by `signal`
    int exit_status = 0;
    int signal = 0;
    bool stop_sent = false;   // the worker sent the stop signal (the token asked)
    std::optional<OutputLine> submitted;  // the last "submitted" line
    std::string error_tail;   // the last lines of its standard error

    bool succeeded() const { return started && exited && exit_status == 0; }
    // "exited with status 3", "killed by signal 9 (SIGKILL)", "could not start: ..."
    std::string ending() const;
};

// Runs `arguments` (the first one looked up in PATH) with the worker's environment plus
// `environment`, standard input from /dev/null, until it ends; its lines go to `log`. When
// `stop` asks, SIGTERM goes to its process group, SIGKILL after kill_grace, and the call
// returns once the group is gone. Throws nothing for a command that fails: that is the result.
CommandResult run_command(const std::vector<std::string>& arguments,
                          const std::vector<std::pair<std::string, std::string>>& environment, const StopToken& stop,
                          const CommandLimits& limits, const std::function<void(const std::string&)>& log);

}  // namespace pangeo_forge::worker::detail
