#include "proc_reader.hpp"

#include <algorithm>
#include <charconv>
#include <dirent.h>
#include <fcntl.h>
#include <memory>
#include <sys/stat.h>
#include <system_error>
#include <thread>
#include <unistd.h>
#include <unordered_map>

namespace execmond {
namespace {

// At most `limit` bytes of a file, and whether there was more.
std::optional<std::pair<std::string, bool>> slurp_bounded(const std::string& path, size_t limit) {
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return std::nullopt;
    std::string out(limit + 1, '\0');
    size_t got = 0;
    ssize_t n = 0;
    while (got < out.size() && (n = read(fd, out.data() + got, out.size() - got)) > 0)
        got += static_cast<size_t>(n);
    close(fd);
    if (n < 0)
        return std::nullopt;
    bool more = got > limit;
    out.resize(std::min(got, limit));
    return std::pair{std::move(out), more};
}

std::optional<std::string> slurp(const std::string& path) {
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return std::nullopt;
    std::string out;
    char buf[4096];
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0)
        out.append(buf, static_cast<size_t>(n));
    close(fd);
    if (n < 0)
        return std::nullopt;
    return out;
}

template <typename T> bool to_number(std::string_view s, T& out) {
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && end == s.data() + s.size();
}

// "Uid:\t0\t0\t0\t0" -> first number after the key.
std::optional<uint32_t> status_field(std::string_view status, std::string_view key, bool last) {
    auto pos = status.find(key);
    if (pos == std::string_view::npos)
        return std::nullopt;
    auto line = status.substr(pos + key.size());
    line = line.substr(0, line.find('\n'));
    std::optional<uint32_t> result;
    size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && (line[i] == ' ' || line[i] == '\t'))
            ++i;
        size_t j = i;
        while (j < line.size() && line[j] != ' ' && line[j] != '\t')
            ++j;
        uint32_t v;
        if (j > i && to_number(line.substr(i, j - i), v)) {
            result = v;
            if (!last)
                return result;
        }
        i = j;
    }
    return result;
}

// What the exec probes report of who and where (ProcessIdentity), from /proc.
// Kernel threads have a cwd but no exe; without CONFIG_AUDIT there is no
// loginuid.
void read_identity(const std::string& dir, ProcSnapshot& s) {
    char cwd[4096];
    ssize_t n = readlink((dir + "/cwd").c_str(), cwd, sizeof(cwd));
    if (n > 0) {
        s.identity.known = true;
        s.identity.cwd.assign(cwd, static_cast<size_t>(n));
        s.identity.exe = s.exe;
    } else {
        s.identity.tty_dev = 0;
    }
    auto number = [&](const char* file, uint32_t& out) {
        auto text = slurp_bounded(dir + "/" + file, 16);
        return text && !text->second && to_number(std::string_view(text->first), out);
    };
    uint32_t auid = unset_id, session = unset_id;
    if (number("loginuid", auid) && number("sessionid", session)) {
        s.identity.audit_known = true;
        s.identity.auid = auid;
        s.identity.session_id = session;
    }
}

} // namespace

uint64_t ns_per_tick() {
    static const uint64_t value = [] {
        long hz = sysconf(_SC_CLK_TCK);
        return hz > 0 ? 1'000'000'000ull / static_cast<uint64_t>(hz) : 10'000'000ull;
    }();
    return value;
}

std::string pid_namespace_mismatch() {
    // The kernel's fixed inode number of the initial pid namespace
    // (PROC_PID_INIT_INO).
    constexpr ino_t init_pid_ns = 0xEFFFFFFCu;
    struct stat st {};
    if (stat("/proc/self/ns/pid", &st) != 0)
        return "cannot stat /proc/self/ns/pid";
    if (st.st_ino != init_pid_ns)
        return "execmond runs in a child pid namespace (pid:[" + std::to_string(st.st_ino) + "])";
    // In the initial namespace, but is /proc the host's?
    char self[32] = {};
    if (readlink("/proc/self", self, sizeof(self) - 1) <= 0 || std::to_string(getpid()) != self)
        return "/proc is not mounted for the initial pid namespace (/proc/self is not our pid)";
    return "";
}

std::optional<ProcSnapshot> ProcReader::parse_stat(std::string_view text) {
    // "pid (comm) state ppid ..." — comm may hold spaces and parentheses,
    // so it ends at the last ')'.
    auto open_paren = text.find('(');
    auto close_paren = text.rfind(')');
    if (open_paren == std::string_view::npos || close_paren == std::string_view::npos ||
        close_paren < open_paren)
        return std::nullopt;
    ProcSnapshot s;
    auto pid_text = text.substr(0, open_paren);
    while (!pid_text.empty() && pid_text.back() == ' ')
        pid_text.remove_suffix(1);
    if (!to_number(pid_text, s.pid))
        return std::nullopt;
    s.comm = std::string(text.substr(open_paren + 1, close_paren - open_paren - 1));
    // Fields after comm, 1-based from state (field 3).
    auto rest = text.substr(close_paren + 1);
    int field = 2;
    size_t i = 0;
    while (i < rest.size() && field < 22) {
        while (i < rest.size() && rest[i] == ' ')
            ++i;
        size_t j = rest.find(' ', i);
        if (j == std::string_view::npos)
            j = rest.size();
        ++field;
        auto token = rest.substr(i, j - i);
        if (field == 4 && !to_number(token, s.ppid))
            return std::nullopt;
        if (field == 7) {
            int32_t tty_nr = 0; // new_encode_dev() of the controlling tty, 0: none
            if (to_number(token, tty_nr))
                s.identity.tty_dev = static_cast<uint32_t>(tty_nr);
        }
        if (field == 9) {
            uint64_t flags = 0;
            if (to_number(token, flags))
                s.kernel_thread = (flags & 0x00200000) != 0; // PF_KTHREAD
        }
        if (field == 22 && !to_number(token, s.start_ticks))
            return std::nullopt;
        i = j;
    }
    if (field < 22)
        return std::nullopt;
    return s;
}

std::vector<Pid> ProcReader::list_pids() const {
    std::vector<Pid> pids;
    struct CloseDir {
        void operator()(DIR* d) const { closedir(d); }
    };
    std::unique_ptr<DIR, CloseDir> dir(opendir(root_.c_str()));
    if (!dir)
        return pids;
    while (dirent* d = readdir(dir.get())) {
        Pid pid;
        if (to_number(std::string_view(d->d_name), pid))
            pids.push_back(pid);
    }
    return pids;
}

std::optional<ProcSnapshot> ProcReader::read_stat(Pid pid) const {
    auto text = slurp(root_ + "/" + std::to_string(pid) + "/stat");
    if (!text)
        return std::nullopt;
    return parse_stat(*text);
}

std::optional<ProcSnapshot> ProcReader::read(Pid pid) const {
    auto s = read_stat(pid);
    if (!s)
        return std::nullopt;
    std::string dir = root_ + "/" + std::to_string(pid);
    if (auto status = slurp(dir + "/status")) {
        s->uid = status_field(*status, "Uid:", false).value_or(0);
        s->gid = status_field(*status, "Gid:", false).value_or(0);
        s->ns_pid = status_field(*status, "NSpid:", true).value_or(pid);
    }
    char exe[4096];
    ssize_t n = readlink((dir + "/exe").c_str(), exe, sizeof(exe));
    if (n > 0)
        s->exe.assign(exe, static_cast<size_t>(n));
    read_identity(dir, *s);
    if (auto cmdline = slurp_bounded(dir + "/cmdline", max_cmdline)) {
        s->cmdline = std::move(cmdline->first);
        s->cmdline_truncated = cmdline->second;
    }
    return s;
}

std::vector<ProcSnapshot> ProcReader::read_all(unsigned threads) const {
    const std::vector<Pid> pids = list_pids();
    // A thread costs ~50 µs to start; below a few hundred processes one is enough.
    constexpr size_t per_thread_min = 256;
    size_t shards = std::clamp<size_t>(pids.size() / per_thread_min, 1, std::max(threads, 1u));
    std::vector<std::vector<std::optional<ProcSnapshot>>> out(shards);
    // Shard i reads pids i, i + shards, ...: neighbours in /proc cost alike.
    auto read_shard = [&](size_t i) {
        for (size_t k = i; k < pids.size(); k += shards)
            out[i].push_back(read(pids[k]));
    };
    {
        std::vector<std::jthread> workers;
        std::vector<size_t> here{0};
        for (size_t i = 1; i < shards; ++i) {
            try {
                workers.emplace_back(read_shard, i);
            } catch (const std::system_error&) {
                here.push_back(i); // no thread to be had (a task limit): read it on this one
            }
        }
        for (size_t i : here)
            read_shard(i);
    }
    std::vector<ProcSnapshot> all;
    all.reserve(pids.size());
    for (size_t k = 0; k < pids.size(); ++k)
        if (auto& s = out[k % shards][k / shards])
            all.push_back(std::move(*s));
    return all;
}

std::vector<Pid> ProcReader::descendants(Pid root) const {
    std::unordered_multimap<Pid, Pid> children;
    for (Pid pid : list_pids())
        if (auto s = read_stat(pid))
            children.emplace(s->ppid, pid);
    std::vector<Pid> out;
    std::vector<Pid> todo{root};
    while (!todo.empty()) {
        Pid p = todo.back();
        todo.pop_back();
        auto [b, e] = children.equal_range(p);
        for (auto it = b; it != e; ++it) {
            out.push_back(it->second);
            todo.push_back(it->second);
        }
    }
    return out;
}

} // namespace execmond
