#include "support/process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <thread>

#include <boost/test/unit_test.hpp>

extern char** environ;

namespace pangeo_forge::test {

pid_t spawn_program(const std::string& program, const std::vector<std::string>& args, const std::string& output,
                    OutputFile mode) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    int flags = O_WRONLY | O_CREAT | (mode == OutputFile::append ? O_APPEND : O_TRUNC);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, output.c_str(), flags, 0644);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
    std::vector<std::string> all{program};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& arg : all) argv.push_back(arg.data());
    argv.push_back(nullptr);
    pid_t pid = 0;
    int error = posix_spawn(&pid, program.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    BOOST_REQUIRE_MESSAGE(error == 0, "cannot start " << program);
    return pid;
}

std::string file_text(const std::string& path) {
    std::ifstream file(path);
    std::stringstream text;
    text << file.rdbuf();
    return text.str();
}

Process::Process(const std::string& program, const std::vector<std::string>& args, std::string log_path)
    : log(std::move(log_path)), pid(spawn_program(program, args, log, OutputFile::append)) {}

Process::~Process() {
    if (pid > 0) {
        kill(pid, SIGKILL);
        waitpid(pid, nullptr, 0);
    }
}

int Process::wait(std::chrono::milliseconds within) {
    if (pid <= 0) return -1;
    const auto deadline = std::chrono::steady_clock::now() + within;
    int status = 0;
    while (waitpid(pid, &status, WNOHANG) == 0) {
        if (std::chrono::steady_clock::now() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            pid = 0;
            return -1;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    pid = 0;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void Process::signal(int number) {
    if (pid > 0) kill(pid, number);
}

}  // namespace pangeo_forge::test
