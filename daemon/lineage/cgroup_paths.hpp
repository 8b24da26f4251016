// cgroup v2 id (what the probes report) -> path below the cgroup2 root, so
// container and service membership is readable. Ids are the cgroup
// directories' inode numbers (kernfs ids). An unknown id is resolved on its
// own, in O(1): as a file handle on the cgroup2 mount (open_by_handle_at, what
// systemd's cg_path_from_cgroupid does; needs CAP_DAC_READ_SEARCH), else from
// /proc/PID/cgroup of the event's process, confirmed by the directory's inode.
// Never a walk of the hierarchy.
#pragma once

#include "container_ids.hpp"
#include "event.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

namespace execmond {

class CgroupPaths {
public:
    enum class Lookup { handle_then_proc, proc_only };

    // Finds the cgroup2 mount in /proc/self/mountinfo; empty root if none.
    CgroupPaths();
    explicit CgroupPaths(std::string root, Lookup lookup = Lookup::handle_then_proc,
                         std::string proc = "/proc");
    ~CgroupPaths();
    CgroupPaths(const CgroupPaths&) = delete;
    CgroupPaths& operator=(const CgroupPaths&) = delete;

    // The path of cgroup `id`; `pid` is a process of the event that named it
    // (a hint: the answer is checked against `id`). Empty if unknown.
    std::string_view path_of(uint64_t id, Pid pid);
    // The path and the container it names (container_ids.hpp), parsed once
    // per id; null if the path is unknown.
    struct Entry {
        std::string path;
        Container container;
    };
    const Entry* lookup(uint64_t id, Pid pid);
    const std::string& root() const { return root_; }
    // How many lookups each way found a path (for tests and logs).
    uint64_t by_handle() const { return by_handle_; }
    uint64_t by_proc() const { return by_proc_; }

private:
    std::string resolve(uint64_t id, Pid pid);
    std::string by_handle_path(uint64_t id);
    std::string by_proc_path(uint64_t id, Pid pid);
    bool has_id(const std::string& path, uint64_t id) const;

    std::string root_;      // where cgroup2 is mounted
    std::string mount_sub_; // the hierarchy path mounted there ("/" on a host)
    std::string proc_;
    int mount_fd_ = -1;
    bool handles_ = true; // until the kernel says we may not
    std::unordered_map<uint64_t, Entry> paths_;
    // Ids that could not be resolved, not retried for a second.
    std::unordered_map<uint64_t, std::chrono::steady_clock::time_point> failed_;
    uint64_t by_handle_ = 0;
    uint64_t by_proc_ = 0;
};

} // namespace execmond
