#include "cgroup_paths.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <sys/stat.h>

namespace execmond {

CgroupPaths::CgroupPaths() {
    std::ifstream in("/proc/self/mountinfo");
    std::string line;
    while (std::getline(in, line)) {
        // "... mountpoint options - fstype source superoptions"
        auto dash = line.find(" - ");
        if (dash == std::string::npos || line.compare(dash + 3, 8, "cgroup2 ") != 0)
            continue;
        std::istringstream fields(line.substr(0, dash));
        std::string id, parent, devno, root, mountpoint;
        fields >> id >> parent >> devno >> root >> mountpoint;
        root_ = mountpoint;
        break;
    }
}

void CgroupPaths::rescan() {
    namespace fs = std::filesystem;
    last_scan_ = std::chrono::steady_clock::now();
    if (root_.empty())
        return;
    paths_.clear();
    std::error_code ec;
    struct stat st {};
    if (stat(root_.c_str(), &st) == 0)
        paths_[st.st_ino] = "/";
    for (fs::recursive_directory_iterator it(root_, fs::directory_options::skip_permission_denied, ec), end;
         !ec && it != end; it.increment(ec)) {
        if (!it->is_directory(ec) || it->is_symlink(ec))
            continue;
        if (stat(it->path().c_str(), &st) == 0)
            paths_[st.st_ino] = "/" + fs::relative(it->path(), root_, ec).string();
    }
}

std::string_view CgroupPaths::path_of(uint64_t id) {
    if (id == 0 || root_.empty())
        return {};
    auto it = paths_.find(id);
    if (it != paths_.end())
        return it->second;
    // New cgroups appear as containers and services start; look again, but
    // not more than a few times a second under a storm of unknown ids.
    if (std::chrono::steady_clock::now() - last_scan_ < std::chrono::milliseconds(200))
        return {};
    rescan();
    it = paths_.find(id);
    return it == paths_.end() ? std::string_view{} : std::string_view(it->second);
}

} // namespace execmond
