// Which file an exec ran and where it came from: its SHA-256 (--hash sha256)
// and the Debian package that installed it (--packages), with dpkg's MD5 to
// tell a modified package file. The loop side: cache lookups and package
// lookups are in memory; reading files is the HashWorker's, and what it
// finds later reaches clients as an exe_hash line (docs/protocol.md).
#pragma once

#include "dpkg_index.hpp"
#include "file_identity.hpp"
#include "hash_worker.hpp"
#include "lru_cache.hpp"

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>

namespace execmond {

struct ProvenanceConfig {
    bool sha256 = false;
    bool packages = false;
    uint64_t max_size = 256ull << 20; // larger files: exe_sha256_skipped "too_large"
    size_t cache_entries = 16384;     // per file identity; ~200 bytes each
    size_t max_queued = 1024;         // files waiting for the worker; beyond: "busy"
    std::string dpkg_dir = "/var/lib/dpkg";
    std::string proc_root = "/proc";
};

// What is known of an exec's file when its line is encoded.
struct ExeFacts {
    std::string sha256;         // empty: not known
    std::string_view skipped;   // why there is no hash: too_large, gone, unreadable, busy
    bool package_known = false; // exe_package present: an object, or null for no package
    std::optional<PackageRef> package;
    std::optional<bool> modified; // vs dpkg's md5sums
    bool pending = false;         // an exe_hash line will follow
};

// The exec an exe_hash line completes: enough to name it and to pass it
// through the same subscription filters as its exec line.
struct PendingExec {
    std::string key;
    uint32_t pid = 0, ppid = 0, uid = 0;
    std::string comm, filename, cgroup_path;
    uint64_t cgroup_id = 0;
    uint64_t exec_ktime_ns = 0; // with key, names the exec (a process may exec many times)
};

struct ProvenanceStats {
    uint64_t cache_entries = 0, cache_hits = 0, cache_misses = 0, cache_evictions = 0;
    uint64_t hashed = 0, hashed_bytes = 0, queued = 0;
    uint64_t skipped_too_large = 0, skipped_gone = 0, skipped_unreadable = 0, skipped_busy = 0;
    uint64_t package_paths = 0, packages = 0, index_bytes = 0, index_loads = 0;
};

class ExeProvenance {
public:
    using Late = std::function<void(const PendingExec&, const ExeFacts&)>;
    ExeProvenance(boost::asio::io_context& io, ProvenanceConfig config, Late late);
    ~ExeProvenance();
    ExeProvenance(const ExeProvenance&) = delete;

    // Indexes dpkg's database off the loop and follows its changes (inotify).
    void start();
    // The process `pid` just exec'd `exe_path` (absolute, as the kernel
    // resolved it; empty: read /proc/PID/exe's link). `recorded`: the file's identity from the exec record,
    // to check a file opened by path once the process is gone. `pending` builds the exe_hash line's subject,
    // only on a cache miss.
    ExeFacts on_exec(uint32_t pid, std::string_view exe_path, const RecordedFile* recorded,
                     const std::function<PendingExec()>& pending);

    bool enabled() const { return config_.sha256 || config_.packages; }
    bool index_ready() const { return index_ != nullptr; }
    ProvenanceStats stats() const;

private:
    struct Cached {
        std::string sha256;
        std::optional<bool> modified;
    };
    struct Waiting {
        PendingExec exec;
        std::optional<PackageRef> package;
        uint64_t size = 0;
    };
    void on_result(HashResult r);
    void load_index();
    void watch_dpkg();
    void read_inotify();

    boost::asio::io_context& io_;
    ProvenanceConfig config_;
    Late late_;
    LruCache<FileIdentity, Cached, FileIdentityHash> cache_;
    std::shared_ptr<const DpkgIndex> index_;
    std::unordered_map<uint64_t, Waiting> waiting_;
    uint64_t next_job_ = 1;
    ProvenanceStats counts_;
    std::thread loader_;
    bool loading_ = false, reload_ = false;
    std::unique_ptr<boost::asio::posix::stream_descriptor> inotify_;
    std::array<char, 4096> inotify_buf_{};
    boost::asio::steady_timer reload_timer_;
    std::unique_ptr<HashWorker> worker_; // last: its results need the rest
};

} // namespace execmond
