#include "trees.hpp"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <poll.h>
#include <spawn.h>
#include <sstream>
#include <stdexcept>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

extern char** environ;

namespace execmond::itest {

std::string lineage_tool() {
    if (const char* p = std::getenv("LINEAGE_TOOL"))
        return p;
    return (std::filesystem::read_symlink("/proc/self/exe").parent_path() / "lineage_tool").string();
}

Tree::Tree(const std::vector<std::string>& argv) {
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0)
        throw std::runtime_error("pipe");
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attr, 0);
    std::vector<char*> args;
    for (const auto& a : argv)
        args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    int err = posix_spawn(&pid_, argv[0].c_str(), &fa, &attr, args.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    close(in[0]);
    close(out[1]);
    in_ = in[1];
    out_ = out[0];
    if (err)
        throw std::runtime_error("spawn " + argv[0] + ": " + std::strerror(err));
}

Tree::~Tree() {
    close_stdin();
    if (out_ >= 0)
        close(out_);
    if (pid_ > 0)
        kill(-pid_, SIGKILL); // the whole group, orphans included
    if (pid_ > 0 && !reaped_)
        waitpid(pid_, nullptr, 0);
}

void Tree::write_line(const std::string& line) {
    std::string l = line + "\n";
    if (::write(in_, l.data(), l.size()) != static_cast<ssize_t>(l.size()))
        throw std::runtime_error("write to tree");
}

void Tree::close_stdin() {
    if (in_ >= 0)
        close(in_);
    in_ = -1;
}

std::optional<std::vector<long>> Tree::expect(const std::string& word, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
        for (auto nl = buf_.find('\n'); nl != std::string::npos; nl = buf_.find('\n')) {
            std::string line = buf_.substr(0, nl);
            buf_.erase(0, nl + 1);
            std::istringstream in(line);
            std::string first;
            in >> first;
            if (first != word)
                continue;
            std::vector<long> numbers;
            long n;
            while (in >> n)
                numbers.push_back(n);
            return numbers;
        }
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                          std::chrono::steady_clock::now());
        if (left.count() <= 0)
            return std::nullopt;
        pollfd p{out_, POLLIN, 0};
        if (poll(&p, 1, static_cast<int>(left.count())) <= 0)
            return std::nullopt;
        char tmp[4096];
        ssize_t n = read(out_, tmp, sizeof(tmp));
        if (n <= 0)
            return std::nullopt;
        buf_.append(tmp, static_cast<size_t>(n));
    }
}

int Tree::wait(std::chrono::milliseconds timeout) {
    bool timed_out = false;
    int status = wait_exit(pid_, timeout, &timed_out);
    if (!timed_out)
        reaped_ = true;
    return timed_out ? -1 : status;
}

namespace {

std::string slurp(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

} // namespace

std::optional<ProcStat> proc_stat(pid_t pid) {
    std::string text = slurp("/proc/" + std::to_string(pid) + "/stat");
    auto open = text.find('('), close = text.rfind(')');
    if (open == std::string::npos || close == std::string::npos)
        return std::nullopt;
    ProcStat s;
    s.pid = pid;
    s.comm = text.substr(open + 1, close - open - 1);
    std::istringstream rest(text.substr(close + 2));
    std::string field;
    for (int i = 3; i <= 22 && rest >> field; ++i) {
        if (i == 4)
            s.ppid = std::stoi(field);
        if (i == 22)
            s.start_ticks = std::stoull(field);
    }
    return s;
}

std::string proc_key(pid_t pid) {
    auto s = proc_stat(pid);
    return s ? std::to_string(pid) + ":" + std::to_string(s->start_ticks) : "";
}

std::string proc_exe(pid_t pid) {
    std::error_code ec;
    auto p = std::filesystem::read_symlink("/proc/" + std::to_string(pid) + "/exe", ec);
    return ec ? "" : p.string();
}

std::vector<pid_t> proc_parents(pid_t pid) {
    std::vector<pid_t> out;
    for (auto s = proc_stat(pid); s && s->ppid != 0 && out.size() < 4096; s = proc_stat(s->ppid)) {
        out.push_back(s->ppid);
        if (s->ppid == 1)
            break;
    }
    return out;
}

std::vector<pid_t> proc_children(pid_t pid) {
    std::vector<pid_t> out;
    std::unique_ptr<DIR, int (*)(DIR*)> dir(opendir("/proc"), &closedir);
    while (dirent* d = readdir(dir.get())) {
        char* end = nullptr;
        long p = std::strtol(d->d_name, &end, 10);
        if (*end != '\0' || p <= 0)
            continue;
        if (auto s = proc_stat(static_cast<pid_t>(p)); s && s->ppid == pid)
            out.push_back(static_cast<pid_t>(p));
    }
    return out;
}

pid_t wait_descendant(pid_t pid, unsigned depth, const std::string& word, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        std::vector<pid_t> level{pid};
        for (unsigned d = 0; d < depth && !level.empty(); ++d) {
            std::vector<pid_t> next;
            for (pid_t p : level)
                for (pid_t c : proc_children(p))
                    next.push_back(c);
            level = std::move(next);
        }
        for (pid_t p : level) {
            std::string cmdline = slurp("/proc/" + std::to_string(p) + "/cmdline");
            if (cmdline.find(word) != std::string::npos)
                return p;
        }
        std::this_thread::sleep_for(10ms);
    }
    return 0;
}

bool maps_library(pid_t pid, const std::string& name) {
    return slurp("/proc/" + std::to_string(pid) + "/maps").find(name) != std::string::npos;
}

uint64_t vm_rss_kib(pid_t pid) {
    std::istringstream in(slurp("/proc/" + std::to_string(pid) + "/status"));
    std::string key;
    while (in >> key) {
        if (key == "VmRSS:") {
            uint64_t v = 0;
            in >> v;
            return v;
        }
        in.ignore(4096, '\n');
    }
    return 0;
}

std::set<int> bpf_ids_of(pid_t pid, const std::string& kind) {
    std::set<int> ids;
    std::error_code ec;
    for (const auto& fd :
         std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fdinfo", ec)) {
        std::istringstream in(slurp(fd.path().string()));
        std::string key;
        int id;
        while (in >> key)
            if (key == kind + ":" && in >> id)
                ids.insert(id);
    }
    return ids;
}

std::optional<json> bpf_map_info(pid_t pid, const std::string& name) {
    for (int id : bpf_ids_of(pid, "map_id")) {
        auto info = json::parse(capture("bpftool -j map show id " + std::to_string(id) + " 2>/dev/null"),
                                nullptr, false);
        if (info.is_object() && info.value("name", "") == name)
            return info;
    }
    return std::nullopt;
}

std::optional<json> bpf_map_dump(pid_t pid, const std::string& name) {
    auto info = bpf_map_info(pid, name);
    if (!info)
        return std::nullopt;
    return json::parse(
        capture("bpftool -j map dump id " + std::to_string((*info)["id"].get<int>()) + " 2>/dev/null"),
        nullptr, false);
}

size_t live_process_count() {
    size_t n = 0;
    std::unique_ptr<DIR, int (*)(DIR*)> dir(opendir("/proc"), &closedir);
    while (dirent* d = readdir(dir.get()))
        n += d->d_name[0] >= '1' && d->d_name[0] <= '9';
    return n;
}

Stream::Stream(const std::string& socket, std::vector<std::string> keep)
    : client(socket), keep(std::move(keep)) {}

namespace {

bool wanted(const std::string& line, const std::vector<std::string>& keep) {
    if (keep.empty())
        return true;
    for (const char* event : {R"({"type":"fork")", R"({"type":"exec")", R"({"type":"exit")"})
        if (line.starts_with(event)) {
            for (const auto& k : keep)
                if (line.find(k) != std::string::npos)
                    return true;
            return false;
        }
    return true;
}

} // namespace

bool Stream::wait(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
        if (std::chrono::steady_clock::now() >= deadline)
            return false;
        // Everything already queued, then one look: done() may scan all
        // lines, and a busy machine sends thousands.
        for (auto l = client.next_line(50ms); l; l = client.next_line(1ms)) {
            if (!wanted(*l, keep))
                continue;
            lines.push_back(json::parse(*l));
            if (lines.size() % 4096 == 0)
                break;
        }
    }
    return true;
}

const json* Stream::find(const std::function<bool(const json&)>& pred) const {
    for (const auto& l : lines)
        if (pred(l))
            return &l;
    return nullptr;
}

std::vector<const json*> Stream::all(const std::function<bool(const json&)>& pred) const {
    std::vector<const json*> out;
    for (const auto& l : lines)
        if (pred(l))
            out.push_back(&l);
    return out;
}

size_t Stream::index_of(const json* l) const {
    for (size_t i = 0; i < lines.size(); ++i)
        if (&lines[i] == l)
            return i;
    return lines.size();
}

namespace {

bool is_line(const json& l, const char* type, pid_t pid, const std::string& arg1) {
    if (l.value("type", "") != type || l.value("pid", -1) != pid)
        return false;
    if (arg1.empty())
        return true;
    return l.contains("argv") && l["argv"].size() > 1 && l["argv"][1] == arg1;
}

} // namespace

const json* Stream::line(const char* type, pid_t pid, const std::string& arg1) const {
    return find([&](const json& l) { return is_line(l, type, pid, arg1); });
}

const json* Stream::await(const char* type, pid_t pid, const std::string& arg1,
                          std::chrono::milliseconds timeout) {
    wait([&] { return line(type, pid, arg1) != nullptr; }, timeout);
    return line(type, pid, arg1);
}

std::optional<json> Stream::stats(std::chrono::milliseconds timeout) {
    size_t from = lines.size();
    client.send(R"({"type":"stats"})");
    auto is_stats = [&] {
        for (size_t i = from; i < lines.size(); ++i)
            if (lines[i].value("type", "") == "stats")
                return true;
        return false;
    };
    if (!wait(is_stats, timeout))
        return std::nullopt;
    for (size_t i = from; i < lines.size(); ++i)
        if (lines[i].value("type", "") == "stats")
            return lines[i];
    return std::nullopt;
}

std::vector<pid_t> ancestor_pids(const json& exec) {
    std::vector<pid_t> out;
    if (exec.contains("ancestors"))
        for (const auto& a : exec["ancestors"])
            out.push_back(a["pid"].get<pid_t>());
    return out;
}

} // namespace execmond::itest
