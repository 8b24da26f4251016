// Runs the real execmond (real probes, as root) on a temporary socket and
// reads its stream like a user's client would.
#pragma once

#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <sys/types.h>
#include <vector>

namespace execmond::itest {

using json = nlohmann::json;
using namespace std::chrono_literals;

std::string daemon_path();
bool is_root();
std::string temp_dir();

struct SpawnResult {
    pid_t pid = -1;
    int status = 0; // wait status
};

// posix_spawn + waitpid; argv[0] is the path.
SpawnResult run(const std::vector<std::string>& argv);
pid_t spawn(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env = {});
int wait_exit(pid_t pid, std::chrono::milliseconds timeout, bool* timed_out = nullptr);
// Runs a shell command and returns its stdout.
std::string capture(const std::string& command);

// The exec storm, bench/tools/storm.c ($EXECMOND_STORM), and its static no-op
// target ($EXECMOND_NOOP): `count` execs of the no-op with argv[1]
// "<token>-<seq>" (seq 0 .. count-1), from `spawners` processes. Returns the
// seconds taken, or -1 if it failed. (No assertions: callable from a thread.)
std::string noop_path();
double run_storm(const std::string& token, int count, int spawners = 2, int rate = 0);
// The <seq> of an exec line of such a storm, or -1.
int storm_seq(const std::string& line, const std::string& token);

// Ids of every loaded BPF program / link on the machine.
std::set<int> bpf_program_ids();
std::set<int> bpf_link_ids();

// Every line a Client reads is checked against proto/stream.schema.json by
// tests/validate_stream.py: when the last live Daemon is destroyed, or when
// the Client is if no Daemon lives. A failure is a Catch2 check failure that
// quotes the first bad line.
//
// Returns "" if every line is valid, else the validator's report.
std::string validate_stream(const std::vector<std::string>& lines);

class Daemon {
public:
    // Starts execmond with a fresh socket and waits for READY=1 (via a
    // NOTIFY_SOCKET of our own) before returning.
    explicit Daemon(std::vector<std::string> extra_args = {}, std::chrono::milliseconds ready_timeout = 10s);
    ~Daemon();
    Daemon(const Daemon&) = delete;

    const std::string& socket() const { return socket_; }
    pid_t pid() const { return pid_; }
    // SIGTERM and wait; returns the exit status (or -1 on timeout).
    int stop(std::chrono::milliseconds timeout = 5s, std::chrono::milliseconds* took = nullptr);
    // SIGKILL and wait: a crash (the daemon gets no chance to clean up).
    void kill_hard();
    // Its --state-dir: a directory of its own unless the test passed one.
    const std::string& state_dir() const { return state_dir_; }
    std::string log() const; // what it wrote to stderr
    std::chrono::milliseconds ready_after() const { return ready_after_; }

private:
    std::string dir_;
    std::string socket_;
    std::string log_path_;
    std::string state_dir_;
    pid_t pid_ = -1;
    std::chrono::milliseconds ready_after_{};
};

class Client {
public:
    explicit Client(const std::string& socket_path);
    ~Client();
    Client(const Client&) = delete;

    void send(const std::string& line);
    // The next line, or nullopt on timeout/EOF.
    std::optional<std::string> next_line(std::chrono::milliseconds timeout = 5s);
    std::optional<json> next(std::chrono::milliseconds timeout = 5s);
    // Reads until pred returns true (returns that line) or the timeout.
    std::optional<json> until(const std::function<bool(const json&)>& pred,
                              std::chrono::milliseconds timeout = 10s);
    int fd() const { return fd_; }

private:
    int fd_ = -1;
    std::string buf_;
    std::vector<std::string> seen_; // every line returned, for the schema check
};

} // namespace execmond::itest
