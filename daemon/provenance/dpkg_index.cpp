#include "dpkg_index.hpp"

#include <algorithm>
#include <dirent.h>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <unordered_map>

namespace execmond {

namespace {

uint64_t path_hash(std::string_view p) {
    return std::hash<std::string_view>{}(p);
}

// "Status: install ok installed" (or a held package): files on disk.
bool installed(std::string_view status) {
    return status.size() >= 10 && status.substr(status.size() - 10) == " installed";
}

// Paragraphs of <admin>/status, keyed by the info/ file name they use.
std::unordered_map<std::string, PackageRef> read_status(const std::string& file, std::string& error) {
    std::unordered_map<std::string, PackageRef> out;
    std::ifstream in(file);
    if (!in) {
        error = "read " + file + ": cannot open";
        return out;
    }
    PackageRef p;
    std::string status, multi_arch, line;
    auto flush = [&] {
        if (!p.name.empty() && installed(status)) {
            // dpkg names info files "<name>:<arch>" for Multi-Arch: same packages.
            p.info_name = multi_arch == "same" ? p.name + ":" + p.arch : p.name;
            out.emplace(p.info_name, p);
        }
        p = PackageRef{};
        status.clear();
        multi_arch.clear();
    };
    while (std::getline(in, line)) {
        if (line.empty()) {
            flush();
            continue;
        }
        auto colon = line.find(':');
        if (line[0] == ' ' || colon == std::string::npos)
            continue;
        std::string_view key(line.data(), colon), value(line);
        value.remove_prefix(std::min(value.size(), colon + 2));
        if (key == "Package")
            p.name = value;
        else if (key == "Version")
            p.version = value;
        else if (key == "Architecture")
            p.arch = value;
        else if (key == "Status")
            status = value;
        else if (key == "Multi-Arch")
            multi_arch = value;
    }
    flush();
    return out;
}

} // namespace

std::optional<std::string> usr_merge_alias(std::string_view path) {
    for (std::string_view top : {"/bin/", "/sbin/", "/lib/", "/lib32/", "/lib64/", "/libx32/"}) {
        if (path.starts_with(top))
            return "/usr" + std::string(path);
        if (path.starts_with("/usr") && path.substr(4).starts_with(top))
            return std::string(path.substr(4));
    }
    return std::nullopt;
}

DpkgIndex DpkgIndex::load(const std::string& admin_dir) {
    DpkgIndex idx;
    idx.admin_dir_ = admin_dir;
    auto status = read_status(admin_dir + "/status", idx.error_);
    std::unique_ptr<DIR, int (*)(DIR*)> dir(opendir((admin_dir + "/info").c_str()), &closedir);
    if (!dir) {
        if (idx.error_.empty())
            idx.error_ = "read " + admin_dir + "/info: cannot open";
        return idx;
    }
    std::string line;
    while (dirent* d = readdir(dir.get())) {
        std::string_view name(d->d_name);
        if (!name.ends_with(".list"))
            continue;
        auto it = status.find(std::string(name.substr(0, name.size() - 5)));
        if (it == status.end())
            continue; // listed but not installed (config-files only, half-removed)
        std::ifstream list(admin_dir + "/info/" + std::string(name));
        auto n = static_cast<uint32_t>(idx.packages_.size());
        idx.packages_.push_back(std::move(it->second));
        status.erase(it);
        while (std::getline(list, line))
            if (!line.empty() && line[0] == '/')
                idx.paths_.emplace_back(path_hash(line), n);
    }
    // First lister wins for a shared path (directories are listed by many).
    std::stable_sort(idx.paths_.begin(), idx.paths_.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    idx.paths_.erase(std::unique(idx.paths_.begin(), idx.paths_.end(),
                                 [](const auto& a, const auto& b) { return a.first == b.first; }),
                     idx.paths_.end());
    idx.paths_.shrink_to_fit();
    return idx;
}

const PackageRef* DpkgIndex::lookup(std::string_view path) const {
    uint64_t h = path_hash(path);
    auto it = std::lower_bound(paths_.begin(), paths_.end(), h,
                               [](const auto& e, uint64_t v) { return e.first < v; });
    return it != paths_.end() && it->first == h ? &packages_[it->second] : nullptr;
}

const PackageRef* DpkgIndex::owner(std::string_view path) const {
    if (const PackageRef* p = lookup(path))
        return p;
    if (auto alias = usr_merge_alias(path))
        return lookup(*alias);
    return nullptr;
}

std::string DpkgIndex::recorded_md5(const PackageRef& pkg, std::string_view path) const {
    std::ifstream in(admin_dir_ + "/info/" + pkg.info_name + ".md5sums");
    auto alias = usr_merge_alias(path);
    std::string line;
    // Lines are "<32 hex>  <path without its leading slash>".
    while (std::getline(in, line)) {
        if (line.size() < 35 || line[32] != ' ' || line[33] != ' ')
            continue;
        std::string_view listed = std::string_view(line).substr(34);
        if (listed == path.substr(1) || (alias && listed == std::string_view(*alias).substr(1)))
            return line.substr(0, 32);
    }
    return {};
}

size_t DpkgIndex::memory_bytes() const {
    size_t n = paths_.capacity() * sizeof(paths_[0]) + packages_.capacity() * sizeof(PackageRef);
    for (const auto& p : packages_)
        n += p.name.capacity() + p.version.capacity() + p.arch.capacity() + p.info_name.capacity();
    return n;
}

} // namespace execmond
