#include "cgroup_paths.hpp"

#include <cerrno>
#include <climits>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

namespace execmond {

namespace {

constexpr int fileid_kernfs = 0xfe; // the kernel's FILEID_KERNFS: a cgroup id as a handle
constexpr size_t max_paths = 65536; // a cache bound: far more cgroups than a host has
constexpr size_t max_failed = 4096;
constexpr auto retry_after = std::chrono::seconds(1);

// "/a/b" below "/a" -> "/b"; "/a" -> "/"; else "".
std::string below(std::string_view path, std::string_view top) {
    if (top == "/")
        return std::string(path);
    if (!path.starts_with(top) || (path.size() > top.size() && path[top.size()] != '/'))
        return {};
    std::string_view rest = path.substr(top.size());
    return rest.empty() ? std::string("/") : std::string(rest);
}

} // namespace

CgroupPaths::CgroupPaths() : proc_("/proc") {
    std::ifstream in("/proc/self/mountinfo");
    std::string line;
    while (std::getline(in, line)) {
        // "... mountpoint options - fstype source superoptions"
        auto dash = line.find(" - ");
        if (dash == std::string::npos || line.compare(dash + 3, 8, "cgroup2 ") != 0)
            continue;
        std::istringstream fields(line.substr(0, dash));
        std::string id, parent, devno, sub, mountpoint;
        fields >> id >> parent >> devno >> sub >> mountpoint;
        root_ = mountpoint;
        mount_sub_ = sub;
        break;
    }
    if (!root_.empty())
        mount_fd_ = open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

CgroupPaths::CgroupPaths(std::string root, Lookup lookup, std::string proc)
    : root_(std::move(root)), mount_sub_("/"), proc_(std::move(proc)),
      handles_(lookup == Lookup::handle_then_proc) {
    if (!root_.empty())
        mount_fd_ = open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

CgroupPaths::~CgroupPaths() {
    if (mount_fd_ >= 0)
        close(mount_fd_);
}

std::string_view CgroupPaths::path_of(uint64_t id, Pid pid) {
    const Entry* e = lookup(id, pid);
    return e ? std::string_view(e->path) : std::string_view{};
}

const CgroupPaths::Entry* CgroupPaths::lookup(uint64_t id, Pid pid) {
    if (id == 0 || root_.empty())
        return nullptr;
    if (auto it = paths_.find(id); it != paths_.end())
        return &it->second;
    auto now = std::chrono::steady_clock::now();
    if (auto it = failed_.find(id); it != failed_.end()) {
        if (now - it->second < retry_after)
            return nullptr;
        failed_.erase(it);
    }
    std::string path = resolve(id, pid);
    if (path.empty()) {
        if (failed_.size() >= max_failed)
            failed_.clear();
        failed_[id] = now;
        return nullptr;
    }
    if (paths_.size() >= max_paths)
        paths_.clear();
    Container container = parse_container(path);
    return &(paths_[id] = Entry{std::move(path), std::move(container)});
}

std::string CgroupPaths::resolve(uint64_t id, Pid pid) {
    if (std::string path = by_handle_path(id); !path.empty()) {
        ++by_handle_;
        return path;
    }
    if (std::string path = by_proc_path(id, pid); !path.empty()) {
        ++by_proc_;
        return path;
    }
    return {};
}

std::string CgroupPaths::by_handle_path(uint64_t id) {
    if (!handles_ || mount_fd_ < 0)
        return {};
    alignas(file_handle) unsigned char buf[sizeof(file_handle) + sizeof(uint64_t)];
    auto* fh = reinterpret_cast<file_handle*>(buf);
    fh->handle_bytes = sizeof(uint64_t);
    fh->handle_type = fileid_kernfs;
    std::memcpy(fh->f_handle, &id, sizeof(id));
    int fd = open_by_handle_at(mount_fd_, fh, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        // Without CAP_DAC_READ_SEARCH (the packaged service): /proc from now on.
        if (errno == EPERM || errno == EACCES || errno == EOPNOTSUPP || errno == ENOSYS)
            handles_ = false;
        return {};
    }
    char target[PATH_MAX];
    std::string link = "/proc/self/fd/" + std::to_string(fd);
    ssize_t n = readlink(link.c_str(), target, sizeof(target) - 1);
    close(fd);
    if (n <= 0)
        return {};
    return below(std::string_view(target, static_cast<size_t>(n)), root_);
}

std::string CgroupPaths::by_proc_path(uint64_t id, Pid pid) {
    if (pid == 0)
        return {};
    // "0::/system.slice/x.service": the cgroup2 line, relative to our own
    // cgroup namespace's root, as is the mount.
    std::ifstream in(proc_ + "/" + std::to_string(pid) + "/cgroup");
    std::string line;
    while (std::getline(in, line)) {
        if (!line.starts_with("0::"))
            continue;
        std::string path = below(std::string_view(line).substr(3), mount_sub_);
        // The pid may be another process by now, or have moved: only the
        // directory that has this id is an answer.
        if (!path.empty() && has_id(path, id))
            return path;
        return {};
    }
    return {};
}

bool CgroupPaths::has_id(const std::string& path, uint64_t id) const {
    struct stat st {};
    std::string dir = path == "/" ? root_ : root_ + path;
    return stat(dir.c_str(), &st) == 0 && static_cast<uint64_t>(st.st_ino) == id;
}

} // namespace execmond
