#pragma once
// Starting a program of this build as a real process, and reading what it wrote: for the
// suites that drive the `pangeo-forge` command (migrations, serve, worker) end to end.

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace pangeo_forge::test {

// How a process's output file is opened: emptied first, or written after what it holds.
enum class OutputFile { truncate, append };

// Starts `program` with `args` (argv[0] is the program), standard output and error both
// going to the file `output`. Fails the test when it cannot start.
pid_t spawn_program(const std::string& program, const std::vector<std::string>& args, const std::string& output,
                    OutputFile mode = OutputFile::truncate);

// The whole of a file, or "" when it cannot be read.
std::string file_text(const std::string& path);

// A program started by spawn_program, its output (both streams) appended to `log`; killed
// (SIGKILL) and reaped by the destructor if it still runs.
class Process {
public:
    Process(const std::string& program, const std::vector<std::string>& args, std::string log_path);
    ~Process();
    Process(const Process&) = delete;
    Process& operator=(const Process&) = delete;

    // The exit status, or -1 when it did not end within `within` (then it is killed) or was killed.
    int wait(std::chrono::milliseconds within = std::chrono::seconds(60));
    void signal(int number);
    std::string output() const { return file_text(log); }

    const std::string log;  // before pid: the constructor opens it for the process
    pid_t pid = 0;          // 0 once reaped
};

}  // namespace pangeo_forge::test
