#pragma once
// Starting a program of this build as a real process, and reading what it wrote: for the
// suites that drive the `pangeo-forge` command (migrations, serve, worker) end to end.

#include <sys/types.h>

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

}  // namespace pangeo_forge::test
