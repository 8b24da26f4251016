// Which installed Debian package owns a path: dpkg's own database
// (<admin>/status for names, versions and architectures; <admin>/info/*.list
// for their files), read whole at once, off the event loop.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace execmond {

struct PackageRef {
    std::string name;
    std::string version;
    std::string arch;
    std::string info_name; // "<name>" or "<name>:<arch>": its files in info/
};

class DpkgIndex {
public:
    // Blocking (reads ~1,000 files on a typical system). A missing or
    // unreadable admin dir gives an empty index and a reason in error().
    static DpkgIndex load(const std::string& admin_dir = "/var/lib/dpkg");

    // The package that installed `path` (an absolute path; the merged-/usr
    // aliases /bin <-> /usr/bin etc. are tried too), or null.
    const PackageRef* owner(std::string_view path) const;
    // The MD5 dpkg recorded for `path` of `pkg` (info/<pkg>.md5sums), "" if none.
    // Reads a file: off the loop.
    std::string recorded_md5(const PackageRef& pkg, std::string_view path) const;

    size_t packages() const { return packages_.size(); }
    size_t paths() const { return paths_.size(); }
    size_t memory_bytes() const;
    const std::string& error() const { return error_; }
    const std::string& admin_dir() const { return admin_dir_; }

private:
    const PackageRef* lookup(std::string_view path) const;

    std::string admin_dir_;
    std::vector<PackageRef> packages_;
    // (hash of the path, index in packages_), sorted: 16 bytes a path where
    // a map of strings would take ~100 (a Debian system lists ~170,000).
    std::vector<std::pair<uint64_t, uint32_t>> paths_;
    std::string error_;
};

// The other spelling of a merged-/usr path ("/bin/ls" <-> "/usr/bin/ls"), if any.
std::optional<std::string> usr_merge_alias(std::string_view path);

} // namespace execmond
