#include "rotated_files.hpp"

#include "log.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <filesystem>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>
#include <zlib.h>

namespace execmond {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view gz = ".gz";
constexpr std::string_view gz_tmp = ".gz.tmp";

bool digits(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// "YYYYMMDDTHHMMSS.uuuuuuZ"
bool is_stamp(std::string_view s) {
    return s.size() == 23 && digits(s.substr(0, 8)) && s[8] == 'T' && digits(s.substr(9, 6)) &&
           s[15] == '.' && digits(s.substr(16, 6)) && s[22] == 'Z';
}

bool exists(const std::string& path) {
    struct stat st {};
    return lstat(path.c_str(), &st) == 0;
}

std::string error_text(int err) {
    return std::strerror(err);
}

// Closes an fd at scope exit.
struct Fd {
    int fd = -1;
    explicit Fd(int f) : fd(f) {}
    ~Fd() {
        if (fd >= 0)
            ::close(fd);
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
};

} // namespace

bool RotatedFiles::is_rotated_name(std::string_view live_name, std::string_view name) {
    if (!name.starts_with(live_name) || name.size() <= live_name.size() || name[live_name.size()] != '.')
        return false;
    std::string_view rest = name.substr(live_name.size() + 1);
    if (rest.ends_with(gz))
        rest.remove_suffix(gz.size());
    return is_stamp(rest);
}

RotatedFiles::RotatedFiles(RotationConfig config) : config_(std::move(config)) {
    worker_ = std::thread([this] { run(); });
}

RotatedFiles::~RotatedFiles() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    worker_.join();
}

std::string RotatedFiles::next_name() const {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    for (;;) {
        tm t{};
        time_t secs = ts.tv_sec;
        gmtime_r(&secs, &t);
        std::array<char, 64> buf{};
        std::snprintf(buf.data(), buf.size(), ".%04d%02d%02dT%02d%02d%02d.%06ldZ", t.tm_year + 1900,
                      t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, ts.tv_nsec / 1000);
        std::string name = config_.live_path + buf.data();
        if (!exists(name) && !exists(name + std::string(gz)))
            return name;
        ts.tv_nsec += 1000; // taken (two rotations in one microsecond, or a clock step back)
        if (ts.tv_nsec >= 1'000'000'000) {
            ts.tv_nsec -= 1'000'000'000;
            ++ts.tv_sec;
        }
    }
}

void RotatedFiles::rotated(std::string path) {
    {
        std::lock_guard lock(mutex_);
        jobs_.push_back(std::move(path));
        busy_ = true;
    }
    wake_.notify_one();
}

void RotatedFiles::wait_idle() {
    std::unique_lock lock(mutex_);
    idle_.wait(lock, [&] { return !busy_ && jobs_.empty(); });
}

void RotatedFiles::run() {
    tidy();
    std::unique_lock lock(mutex_);
    for (;;) {
        busy_ = !jobs_.empty();
        if (!busy_)
            idle_.notify_all();
        wake_.wait(lock, [&] { return !jobs_.empty() || stopping_; });
        if (stopping_)
            break;
        jobs_.clear(); // one pass handles every rotation so far
        busy_ = true;
        lock.unlock();
        compress_older();
        prune();
        lock.lock();
    }
    busy_ = false;
    idle_.notify_all();
}

void RotatedFiles::tidy() {
    fs::path live(config_.live_path);
    std::string live_name = live.filename().string();
    fs::path dir = live.has_parent_path() ? live.parent_path() : fs::path(".");
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
        std::string name = entry.path().filename().string();
        if (name.ends_with(gz_tmp) &&
            is_rotated_name(live_name, std::string_view(name).substr(0, name.size() - gz_tmp.size()))) {
            fs::remove(entry.path(), ec); // a compression an earlier run did not finish
            continue;
        }
        if (is_rotated_name(live_name, name) && !name.ends_with(gz) &&
            exists(entry.path().string() + std::string(gz)))
            fs::remove(entry.path(), ec); // compressed, but not yet removed when that run stopped
    }
    compress_older();
    prune();
    std::lock_guard lock(mutex_);
    busy_ = false;
}

void RotatedFiles::compress_older() {
    if (!config_.compress || config_.keep == 0)
        return;
    fs::path live(config_.live_path);
    std::string live_name = live.filename().string();
    fs::path dir = live.has_parent_path() ? live.parent_path() : fs::path(".");
    std::vector<std::string> uncompressed;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
        std::string name = entry.path().filename().string();
        if (is_rotated_name(live_name, name) && !name.ends_with(gz))
            uncompressed.push_back(entry.path().string());
    }
    std::sort(uncompressed.begin(), uncompressed.end());
    // The newest rotated file stays as it is until the next rotation (what
    // logrotate calls delaycompress): a shipper that was behind when the file
    // was renamed is still reading it, and removing it would lose its tail.
    if (!uncompressed.empty())
        uncompressed.pop_back();
    for (const auto& path : uncompressed) {
        if (stopping_)
            break;
        compress(path);
    }
}

void RotatedFiles::compress(const std::string& path) {
    std::string tmp = path + std::string(gz_tmp);
    std::string done = path + std::string(gz);
    auto fail = [&](const std::string& why) {
        log::warning("output file: compressing " + path + ": " + why + "; it stays uncompressed");
        unlink(tmp.c_str());
    };
    Fd in(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (in.fd < 0 && errno == ENOENT)
        return; // pruned already: rotations came faster than compression
    if (in.fd < 0)
        return fail("open: " + error_text(errno));
    int out = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, config_.mode);
    if (out < 0)
        return fail("create " + tmp + ": " + error_text(errno));
    Fd keep(dup(out)); // gzclose() closes `out`; this one is for fsync afterwards
    // As the live file; a group the daemon cannot give leaves the daemon's own
    // (the live file's warning already said so).
    if (fchmod(out, config_.mode) != 0 ||
        (config_.group && fchown(out, static_cast<uid_t>(-1), *config_.group) != 0))
        log::debug("output file: mode or group of " + tmp + ": " + error_text(errno));
    gzFile z = gzdopen(out, "wb6");
    if (z == nullptr) {
        ::close(out);
        return fail("gzdopen failed");
    }
    std::vector<char> buf(256 * 1024);
    for (;;) {
        if (stopping_) {
            gzclose(z);
            unlink(tmp.c_str());
            return;
        }
        ssize_t n = read(in.fd, buf.data(), buf.size());
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int err = errno;
            gzclose(z);
            return fail("read: " + error_text(err));
        }
        if (n == 0)
            break;
        if (gzwrite(z, buf.data(), static_cast<unsigned>(n)) != static_cast<int>(n)) {
            int zerr = 0;
            std::string why = gzerror(z, &zerr);
            int err = errno;
            gzclose(z);
            return fail("write " + tmp + ": " + (zerr == Z_ERRNO ? error_text(err) : why));
        }
    }
    int err = errno;
    if (gzclose(z) != Z_OK)
        return fail("write " + tmp + ": " + error_text(err));
    if (fsync(keep.fd) != 0)
        return fail("fsync " + tmp + ": " + error_text(errno));
    if (rename(tmp.c_str(), done.c_str()) != 0)
        return fail("rename to " + done + ": " + error_text(errno));
    unlink(path.c_str());
}

void RotatedFiles::prune() {
    fs::path live(config_.live_path);
    std::string live_name = live.filename().string();
    fs::path dir = live.has_parent_path() ? live.parent_path() : fs::path(".");
    std::vector<std::string> names;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
        std::string name = entry.path().filename().string();
        if (is_rotated_name(live_name, name))
            names.push_back(name);
    }
    // Names sort by time; "X" and "X.gz" (mid-compression) are one generation.
    auto stem = [](std::string_view n) {
        return n.ends_with(gz) ? n.substr(0, n.size() - gz.size()) : n;
    };
    std::sort(names.begin(), names.end());
    std::vector<std::string_view> stems;
    for (const auto& n : names)
        if (stems.empty() || stems.back() != stem(n))
            stems.push_back(stem(n));
    if (stems.size() <= config_.keep)
        return;
    size_t drop = stems.size() - config_.keep;
    for (const auto& n : names) {
        if (std::find(stems.begin(), stems.begin() + static_cast<std::ptrdiff_t>(drop), stem(n)) ==
            stems.begin() + static_cast<std::ptrdiff_t>(drop))
            continue;
        if (unlink((dir / n).c_str()) != 0 && errno != ENOENT)
            log::warning("output file: remove old " + (dir / n).string() + ": " + error_text(errno));
    }
}

} // namespace execmond
