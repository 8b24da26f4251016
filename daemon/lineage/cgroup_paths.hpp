// cgroup v2 id (what the probes report) -> path below the cgroup2 root, so
// container and service membership is readable. Ids are the cgroup
// directories' inode numbers; unknown ids trigger a (rate-limited) rescan.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

namespace execmond {

class CgroupPaths {
public:
    // Finds the cgroup2 mount in /proc/self/mountinfo; empty root if none.
    CgroupPaths();
    explicit CgroupPaths(std::string root) : root_(std::move(root)) {}

    std::string_view path_of(uint64_t id);
    const std::string& root() const { return root_; }

private:
    void rescan();

    std::string root_;
    std::unordered_map<uint64_t, std::string> paths_;
    std::chrono::steady_clock::time_point last_scan_{};
};

} // namespace execmond
