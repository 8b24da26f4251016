#include "state_file.hpp"

#include "log.hpp"

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

namespace execmond {

using json = nlohmann::json;

namespace {

constexpr int format_version = 1;
constexpr size_t max_state_bytes = 64u << 20; // a million processes' keys fit

std::optional<ProcessKey> parse_key(std::string_view text) {
    ProcessKey k;
    auto colon = text.find(':');
    if (colon == std::string_view::npos)
        return std::nullopt;
    auto [p_end, p_ec] = std::from_chars(text.data(), text.data() + colon, k.pid);
    auto [t_end, t_ec] = std::from_chars(text.data() + colon + 1, text.data() + text.size(), k.start_ticks);
    if (p_ec != std::errc() || p_end != text.data() + colon || t_ec != std::errc() ||
        t_end != text.data() + text.size() || colon == 0 || colon + 1 == text.size())
        return std::nullopt;
    return k;
}

std::string errno_text(const std::string& what) {
    return what + ": " + std::strerror(errno);
}

// One fd, closed on every path.
struct Fd {
    int fd;
    ~Fd() {
        if (fd >= 0)
            ::close(fd);
    }
};

} // namespace

std::string serialize_state(const SavedState& s) {
    json j;
    j["format"] = format_version;
    j["stream_id"] = s.stream_id;
    j["boot_id"] = s.boot_id;
    j["last_seq"] = s.last_seq;
    j["written_realtime_ns"] = s.written_realtime_ns;
    j["written_boottime_ns"] = s.written_boottime_ns;
    j["clean"] = s.clean;
    auto keys = json::array();
    for (const ProcessKey& k : s.processes)
        keys.push_back(std::to_string(k.pid) + ":" + std::to_string(k.start_ticks));
    j["processes"] = std::move(keys);
    return j.dump() + "\n";
}

std::variant<SavedState, std::string> parse_state(std::string_view text) {
    json j = json::parse(text, nullptr, false);
    if (j.is_discarded())
        return std::string("not JSON (truncated or corrupt)");
    if (!j.is_object())
        return std::string("not a JSON object");
    auto member = [&](const char* name, bool (json::*is)() const) -> const json* {
        auto it = j.find(name);
        if (it == j.end() || !((*it).*is)())
            return nullptr;
        return &*it;
    };
    const json* format = member("format", &json::is_number_unsigned);
    if (!format)
        return std::string("no format number");
    if (format->get<uint64_t>() != format_version)
        return "format " + std::to_string(format->get<uint64_t>()) + ", not " +
               std::to_string(format_version);
    SavedState s;
    const json *stream = member("stream_id", &json::is_string), *boot = member("boot_id", &json::is_string),
               *seq = member("last_seq", &json::is_number_unsigned),
               *real = member("written_realtime_ns", &json::is_number_integer),
               *boottime = member("written_boottime_ns", &json::is_number_unsigned),
               *clean = member("clean", &json::is_boolean), *procs = member("processes", &json::is_array);
    if (!stream || !boot || !seq || !real || !boottime || !clean || !procs)
        return std::string("a member is missing or of the wrong type (stream_id, boot_id, last_seq, "
                           "written_realtime_ns, written_boottime_ns, clean, processes)");
    s.stream_id = stream->get<std::string>();
    s.boot_id = boot->get<std::string>();
    if (s.stream_id.empty())
        return std::string("empty stream_id");
    s.last_seq = seq->get<uint64_t>();
    s.written_realtime_ns = real->get<int64_t>();
    s.written_boottime_ns = boottime->get<uint64_t>();
    s.clean = clean->get<bool>();
    s.processes.reserve(procs->size());
    for (const json& k : *procs) {
        std::optional<ProcessKey> key;
        if (k.is_string())
            key = parse_key(k.get_ref<const std::string&>());
        if (!key)
            return "processes: " + k.dump() + " is not a key (\"pid:start_ticks\")";
        s.processes.push_back(*key);
    }
    return s;
}

LoadedState load_state(const std::string& dir) {
    LoadedState r;
    if (dir.empty()) {
        r.status = "disabled";
        return r;
    }
    std::string path = dir + "/state";
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        if (errno == ENOENT) {
            r.status = "none";
        } else {
            r.status = "unreadable";
            r.problem = errno_text("open " + path);
        }
        return r;
    }
    std::string text;
    char buf[65536];
    while (in.read(buf, sizeof(buf)) || in.gcount() > 0) {
        text.append(buf, static_cast<size_t>(in.gcount()));
        if (text.size() > max_state_bytes) {
            r.status = "unreadable";
            r.problem = path + ": larger than " + std::to_string(max_state_bytes) + " bytes";
            return r;
        }
    }
    auto parsed = parse_state(text);
    if (auto* why = std::get_if<std::string>(&parsed)) {
        r.status = "unreadable";
        r.problem = path + ": " + *why;
        return r;
    }
    r.state = std::move(std::get<SavedState>(parsed));
    r.status = "ok";
    return r;
}

std::string write_state_file(const std::string& dir, std::string_view content) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec)
        return "create " + dir + ": " + ec.message();
    std::string path = dir + "/state", tmp = path + ".tmp";
    {
        Fd f{::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600)};
        if (f.fd < 0)
            return errno_text("open " + tmp);
        for (size_t done = 0; done < content.size();) {
            ssize_t n = ::write(f.fd, content.data() + done, content.size() - done);
            if (n < 0) {
                if (errno == EINTR)
                    continue;
                return errno_text("write " + tmp);
            }
            done += static_cast<size_t>(n);
        }
        // The data before the name: after a crash the file is the old or the new one, whole.
        if (::fsync(f.fd) != 0)
            return errno_text("fsync " + tmp);
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0)
        return errno_text("rename " + tmp + " to " + path);
    Fd d{::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
    if (d.fd >= 0)
        ::fsync(d.fd); // the rename itself
    return "";
}

StateWriter::StateWriter(std::string dir) : dir_(std::move(dir)) {
    if (!dir_.empty())
        thread_ = std::thread([this] { run(); });
}

StateWriter::~StateWriter() {
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
    }
    wake_.notify_one();
    if (thread_.joinable())
        thread_.join();
}

void StateWriter::write_async(std::string content) {
    if (dir_.empty())
        return;
    {
        std::lock_guard lock(mutex_);
        pending_ = std::move(content);
    }
    wake_.notify_one();
}

void StateWriter::write_sync(std::string_view content) {
    if (!dir_.empty())
        write(content);
}

void StateWriter::write_now(std::string_view content) {
    if (dir_.empty())
        return;
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
        pending_.reset(); // older than this one
    }
    wake_.notify_one();
    if (thread_.joinable())
        thread_.join();
    write(content);
}

uint64_t StateWriter::failures() const {
    std::lock_guard lock(mutex_);
    return failures_;
}

void StateWriter::run() {
    std::unique_lock lock(mutex_);
    while (true) {
        wake_.wait(lock, [this] { return stop_ || pending_; });
        if (!pending_)
            return; // stopping, nothing left
        std::string content = std::move(*pending_);
        pending_.reset();
        lock.unlock();
        write(content);
        lock.lock();
        if (stop_ && !pending_)
            return;
    }
}

void StateWriter::write(std::string_view content) {
    std::lock_guard one(write_mutex_);
    std::string problem = write_state_file(dir_, content);
    std::lock_guard lock(mutex_);
    if (problem.empty()) {
        last_problem_.clear();
        return;
    }
    ++failures_;
    if (problem != last_problem_)
        log::warning("state file not saved (" + problem +
                         "): after a restart, clients will not learn what happened while execmond was down",
                     {{"EXECMOND_STATE_ERROR", problem}});
    last_problem_ = problem;
}

} // namespace execmond
