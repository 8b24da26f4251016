#include "harness.hpp"

#include <algorithm>
#include <catch2/catch_test_macros.hpp>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <poll.h>
#include <spawn.h>
#include <sstream>
#include <stdexcept>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

extern char** environ;

namespace execmond::itest {

namespace {

// Lines read while some Daemon lives, checked when the last one goes: one
// validator run per test rather than one per client.
std::mutex pending_mutex;
std::vector<std::string> pending_lines;
int live_daemons = 0;

// The lines to validate: all of them, except that in a long run of event
// lines (an exec storm: tens of thousands of lines of the same few shapes)
// only the first 300, the last 100 and every 50th in between are. The
// validator takes about 1 ms a line; the storms would spend minutes there.
std::vector<std::string> sample(const std::vector<std::string>& lines) {
    constexpr size_t head = 300, tail = 100, stride = 50;
    if (lines.size() <= head + tail)
        return lines;
    std::vector<std::string> kept;
    for (size_t i = 0; i < lines.size(); ++i) {
        const std::string& l = lines[i];
        bool event = l.rfind(R"({"type":"fork")", 0) == 0 || l.rfind(R"({"type":"exec")", 0) == 0 ||
                     l.rfind(R"({"type":"exit")", 0) == 0;
        if (!event || i < head || i >= lines.size() - tail || i % stride == 0)
            kept.push_back(l);
    }
    return kept;
}

void check_stream(const std::vector<std::string>& lines) {
    if (lines.empty() || std::uncaught_exceptions() != 0)
        return; // a test that already failed hard: its own message matters
    std::string report = validate_stream(sample(lines));
    if (!report.empty())
        FAIL_CHECK("a line from execmond does not follow proto/stream.schema.json:\n" << report);
}

} // namespace

std::string validate_stream(const std::vector<std::string>& lines) {
    const char* script = std::getenv("EXECMOND_STREAM_VALIDATOR");
    const char* python = std::getenv("EXECMOND_PYTHON"); // meson sets it; else Debian's
    std::string dir = temp_dir();
    std::string file = dir + "/lines.jsonl";
    {
        std::ofstream out(file);
        for (const auto& l : lines)
            out << l << '\n';
    }
    std::string out;
    FILE* f = popen((std::string(python ? python : "/usr/bin/python3") + " " +
                     std::string(script ? script : "tests/validate_stream.py") + " " + file + " 2>&1")
                        .c_str(),
                    "r");
    int status = -1;
    if (f) {
        char buf[4096];
        size_t n;
        while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
            out.append(buf, n);
        status = pclose(f);
    }
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    if (status == 0)
        return "";
    return out.empty() ? "validator did not run (python3, tests/validate_stream.py)" : out;
}

std::string daemon_path() {
    const char* p = std::getenv("EXECMOND_BIN");
    return p ? p : "build/daemon/execmond";
}

bool is_root() {
    return geteuid() == 0;
}

std::string temp_dir() {
    char tmpl[] = "/tmp/execmond-it-XXXXXX";
    if (!mkdtemp(tmpl))
        throw std::runtime_error("mkdtemp failed");
    return tmpl;
}

pid_t spawn(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env) {
    std::vector<char*> args;
    for (const auto& a : argv)
        args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    std::vector<std::string> env_store;
    for (char** e = environ; *e; ++e)
        env_store.emplace_back(*e);
    for (const auto& e : extra_env)
        env_store.push_back(e);
    std::vector<char*> env;
    for (auto& e : env_store)
        env.push_back(e.data());
    env.push_back(nullptr);
    pid_t pid = -1;
    if (int err = posix_spawn(&pid, argv[0].c_str(), nullptr, nullptr, args.data(), env.data()))
        throw std::runtime_error("spawn " + argv[0] + ": " + std::strerror(err));
    return pid;
}

int wait_exit(pid_t pid, std::chrono::milliseconds timeout, bool* timed_out) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    int status = 0;
    while (true) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) {
            if (timed_out)
                *timed_out = false;
            return status;
        }
        if (std::chrono::steady_clock::now() > deadline) {
            if (timed_out)
                *timed_out = true;
            return -1;
        }
        std::this_thread::sleep_for(1ms);
    }
}

SpawnResult run(const std::vector<std::string>& argv) {
    SpawnResult r;
    r.pid = spawn(argv);
    waitpid(r.pid, &r.status, 0);
    return r;
}

std::string capture(const std::string& command) {
    std::string out;
    FILE* f = popen(command.c_str(), "r");
    if (!f)
        return out;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        out.append(buf, n);
    pclose(f);
    return out;
}

namespace {
std::string env_or(const char* name, const char* fallback) {
    const char* v = std::getenv(name);
    return v ? v : fallback;
}
} // namespace

std::string noop_path() {
    return env_or("EXECMOND_NOOP", "build/bench/noop");
}

double run_storm(const std::string& token, int count, int spawners, int rate) {
    auto out = capture(env_or("EXECMOND_STORM", "build/bench/storm") + " --noop " + noop_path() +
                       " --token " + token + " --count " + std::to_string(count) + " --spawners " +
                       std::to_string(spawners) + (rate > 0 ? " --rate " + std::to_string(rate) : ""));
    auto j = json::parse(out, nullptr, false);
    if (!j.is_object() || j.value("failed", 1) != 0 || j.value("spawned", 0) != count)
        return -1;
    return j["elapsed_s"].get<double>();
}

int storm_seq(const std::string& line, const std::string& token) {
    if (line.find("\"type\":\"exec\"") == std::string::npos)
        return -1;
    auto pos = line.find(token + "-");
    if (pos == std::string::npos)
        return -1;
    return std::atoi(line.c_str() + pos + token.size() + 1);
}

std::set<int> bpf_program_ids() {
    std::set<int> ids;
    auto j = json::parse(capture("bpftool -j prog list 2>/dev/null"), nullptr, false);
    if (j.is_array())
        for (const auto& p : j)
            ids.insert(p["id"].get<int>());
    return ids;
}

std::set<int> bpf_link_ids() {
    std::set<int> ids;
    auto j = json::parse(capture("bpftool -j link list 2>/dev/null"), nullptr, false);
    if (j.is_array())
        for (const auto& l : j)
            ids.insert(l["id"].get<int>());
    return ids;
}

Daemon::Daemon(std::vector<std::string> extra_args, std::chrono::milliseconds ready_timeout) {
    dir_ = temp_dir();
    socket_ = dir_ + "/events.sock";
    log_path_ = dir_ + "/daemon.log";
    std::string notify_path = dir_ + "/notify.sock";

    // Our own NOTIFY_SOCKET: READY=1 is what "ready" means, as for systemd.
    int notify = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, notify_path.c_str(), sizeof(addr.sun_path) - 1);
    if (bind(notify, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0)
        throw std::runtime_error("bind notify socket");

    std::vector<std::string> argv{daemon_path(), "--socket", socket_,    "--log-target",
                                  "stderr",      "--config", "/dev/null"};
    // Each daemon its own state file (docs/protocol.md, "Resuming"), so that
    // tests and other daemons on the machine never read each other's.
    auto given = std::find(extra_args.begin(), extra_args.end(), "--state-dir");
    if (given == extra_args.end()) {
        state_dir_ = dir_ + "/state";
        argv.insert(argv.end(), {"--state-dir", state_dir_});
    } else if (given + 1 != extra_args.end()) {
        state_dir_ = *(given + 1);
    }
    argv.insert(argv.end(), extra_args.begin(), extra_args.end());
    // stderr to a file, through a shell-free spawn: use posix_spawn file actions.
    std::vector<char*> args;
    for (auto& a : argv)
        args.push_back(a.data());
    args.push_back(nullptr);
    std::vector<std::string> env_store;
    for (char** e = environ; *e; ++e)
        if (std::strncmp(*e, "NOTIFY_SOCKET=", 14) != 0)
            env_store.emplace_back(*e);
    env_store.push_back("NOTIFY_SOCKET=" + notify_path);
    std::vector<char*> env;
    for (auto& e : env_store)
        env.push_back(e.data());
    env.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 2, log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    auto t0 = std::chrono::steady_clock::now();
    int err = posix_spawn(&pid_, argv[0].c_str(), &fa, nullptr, args.data(), env.data());
    posix_spawn_file_actions_destroy(&fa);
    if (err)
        throw std::runtime_error("spawn " + argv[0] + ": " + std::strerror(err));

    auto deadline = t0 + ready_timeout;
    bool ready = false;
    while (!ready && std::chrono::steady_clock::now() < deadline) {
        pollfd p{notify, POLLIN, 0};
        if (poll(&p, 1, 20) == 1) {
            char buf[4096];
            ssize_t n = recv(notify, buf, sizeof(buf), 0);
            if (n > 0 && std::string(buf, static_cast<size_t>(n)).find("READY=1") != std::string::npos)
                ready = true;
        }
        int status;
        if (!ready && waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            close(notify);
            throw std::runtime_error("execmond exited before READY=1: " + log());
        }
    }
    ready_after_ =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
    close(notify);
    if (!ready)
        throw std::runtime_error("execmond sent no READY=1 within the timeout: " + log());
    std::lock_guard lock(pending_mutex);
    ++live_daemons;
}

Daemon::~Daemon() {
    // Every daemon a test starts must also stop cleanly: exit 0 on SIGTERM,
    // which in a sanitizer build includes LeakSanitizer's check at exit.
    if (pid_ > 0) {
        pid_t pid = pid_;
        int status = stop(10s);
        std::string failure;
        if (status == -1) {
            kill(pid, SIGKILL);
            waitpid(pid, nullptr, 0);
            failure = "did not exit within 10 s of SIGTERM";
        } else if (WIFSIGNALED(status)) {
            failure = "was killed by signal " + std::to_string(WTERMSIG(status)) + " after SIGTERM";
        } else if (WEXITSTATUS(status) != 0) {
            failure = "exited " + std::to_string(WEXITSTATUS(status)) + " after SIGTERM";
        }
        pid_ = pid;
        if (!failure.empty() && std::uncaught_exceptions() == 0) {
            std::string text = log();
            if (text.size() > 6000)
                text = "..." + text.substr(text.size() - 6000);
            FAIL_CHECK("execmond " << failure << "; its log ends:\n" << text);
        }
    }
    std::error_code ec;
    // EXECMOND_TEST_LOGS=DIR keeps every daemon's log there, for a failure's post-mortem.
    if (const char* keep = std::getenv("EXECMOND_TEST_LOGS")) {
        std::filesystem::create_directories(keep, ec);
        std::filesystem::copy_file(log_path_, std::string(keep) + "/daemon-" + std::to_string(pid_) + ".log",
                                   std::filesystem::copy_options::overwrite_existing, ec);
    }
    std::filesystem::remove_all(dir_, ec);
    std::vector<std::string> lines;
    {
        std::lock_guard lock(pending_mutex);
        if (--live_daemons == 0)
            lines.swap(pending_lines);
    }
    check_stream(lines);
}

int Daemon::stop(std::chrono::milliseconds timeout, std::chrono::milliseconds* took) {
    auto t0 = std::chrono::steady_clock::now();
    kill(pid_, SIGTERM);
    bool timed_out = false;
    int status = wait_exit(pid_, timeout, &timed_out);
    if (took)
        *took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
    if (!timed_out)
        pid_ = -1;
    return status;
}

void Daemon::kill_hard() {
    if (pid_ <= 0)
        return;
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
}

std::string Daemon::log() const {
    std::ifstream in(log_path_);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

Client::Client(const std::string& socket_path) {
    fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, socket_path.c_str(), sizeof(addr.sun_path) - 1);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0)
        throw std::runtime_error("connect " + socket_path + ": " + std::strerror(errno));
}

Client::~Client() {
    if (fd_ >= 0)
        close(fd_);
    {
        std::lock_guard lock(pending_mutex);
        if (live_daemons > 0) {
            pending_lines.insert(pending_lines.end(), std::make_move_iterator(seen_.begin()),
                                 std::make_move_iterator(seen_.end()));
            return;
        }
    }
    check_stream(seen_);
}

void Client::send(const std::string& line) {
    std::string l = line + "\n";
    if (::send(fd_, l.data(), l.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(l.size()))
        throw std::runtime_error("send to execmond failed");
}

std::optional<std::string> Client::next_line(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
        auto nl = buf_.find('\n');
        if (nl != std::string::npos) {
            std::string line = buf_.substr(0, nl);
            buf_.erase(0, nl + 1);
            seen_.push_back(line);
            return line;
        }
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                          std::chrono::steady_clock::now());
        if (left.count() <= 0)
            return std::nullopt;
        pollfd p{fd_, POLLIN, 0};
        if (poll(&p, 1, static_cast<int>(left.count())) <= 0)
            return std::nullopt;
        char tmp[65536];
        ssize_t n = read(fd_, tmp, sizeof(tmp));
        if (n <= 0)
            return std::nullopt;
        buf_.append(tmp, static_cast<size_t>(n));
    }
}

std::optional<json> Client::next(std::chrono::milliseconds timeout) {
    auto line = next_line(timeout);
    if (!line)
        return std::nullopt;
    return json::parse(*line);
}

std::optional<json> Client::until(const std::function<bool(const json&)>& pred,
                                  std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                          std::chrono::steady_clock::now());
        auto j = next(left);
        if (!j)
            return std::nullopt;
        if (pred(*j))
            return j;
    }
    return std::nullopt;
}

} // namespace execmond::itest
